package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// Clean returns the string the official tokenizer runs its pre-tokenizer
// pattern on: whitespace_clean(basic_clean(text)).lower(), that is
// ftfy.fix_text (ftfy 6.3.1 defaults), html.unescape twice, strip, every run
// of whitespace collapsed to one space, strip, then Python's str.lower()
// (full case mapping of Unicode 14, with the Final_Sigma rule).
//
// Invalid UTF-8 in text is first replaced by U+FFFD, one per maximal
// ill-formed subsequence, as Python's bytes.decode("utf-8", "replace") does.
func Clean(text string) string {
	if out, ok := cleanSimpleASCII(text); ok {
		return out
	}
	if !utf8.ValidString(text) {
		text = decodeReplace([]byte(text))
	}
	text = fixText(text)
	text = pyHTMLUnescape(pyHTMLUnescape(text))
	text = pyStrip(text)
	text = collapseWhitespace(text)
	return pyLower(text)
}

// cleanSimpleASCII is Clean for ASCII text that ftfy and html.unescape
// leave alone (no '&', CR, escape or other removed control character): it
// strips, collapses whitespace and lowers in one pass. ok is false for any
// other text.
func cleanSimpleASCII(s string) (out string, ok bool) {
	// Check, and see whether anything changes at all.
	change := false
	prevSpace := true // a leading space must go
	for i := 0; i < len(s); i++ {
		switch k := simpleASCII[s[i]]; k {
		case saPlain:
			prevSpace = false
		case saUpper:
			change = true
			prevSpace = false
		case saSpace:
			change = change || prevSpace
			prevSpace = true
		case saOtherSpace:
			change = true
			prevSpace = true
		default:
			return "", false
		}
	}
	if prevSpace && len(s) > 0 {
		change = true // trailing space
	}
	if !change {
		return s, true
	}
	var b strings.Builder
	b.Grow(len(s))
	pending := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch simpleASCII[c] {
		case saSpace, saOtherSpace:
			pending = b.Len() > 0
			continue
		case saUpper:
			c += 'a' - 'A'
		}
		if pending {
			b.WriteByte(' ')
			pending = false
		}
		b.WriteByte(c)
	}
	return b.String(), true
}

// Byte kinds for cleanSimpleASCII.
const (
	saOther      = iota // needs the general path
	saPlain             // kept as is
	saUpper             // lowered
	saSpace             // ' '
	saOtherSpace        // '\t', '\n', '\f': become spaces
)

var simpleASCII = func() (t [256]uint8) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = saPlain
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = saUpper
	}
	t['&'] = saOther
	t[' '] = saSpace
	t['\t'], t['\n'], t['\f'] = saOtherSpace, saOtherSpace, saOtherSpace
	return t
}()

// pyHTMLUnescape is Python's html.unescape: HTML5 named references (with
// the legacy names also matched without ';' and as prefixes) and numeric
// references with the HTML5 replacement rules.
func pyHTMLUnescape(s string) string {
	if strings.IndexByte(s, '&') < 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		k := strings.IndexByte(s[i:], '&')
		if k < 0 {
			break
		}
		i += k
		end, repl, ok := matchCharref(s, i)
		if !ok {
			i++
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(repl)
		last = end
		i = end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// matchCharref matches html.unescape's reference pattern at s[i] == '&' and
// returns the end of the match and its replacement.
func matchCharref(s string, i int) (end int, repl string, ok bool) {
	j := i + 1
	if j < len(s) && s[j] == '#' {
		j++
		hex := false
		if j < len(s) && (s[j] == 'x' || s[j] == 'X') && j+1 < len(s) && isHex(s[j+1]) {
			hex = true
			j++
		} else if j >= len(s) || !isDigit(s[j]) {
			return 0, "", false
		}
		num := 0
		for j < len(s) && ((hex && isHex(s[j])) || (!hex && isDigit(s[j]))) {
			if num <= 0x110000 {
				if hex {
					num = num*16 + hexVal(s[j])
				} else {
					num = num*10 + int(s[j]-'0')
				}
			}
			j++
		}
		if j < len(s) && s[j] == ';' {
			j++
		}
		return j, numericCharref(num), true
	}
	// Named: up to 32 characters other than \t \n \f space < & # ;
	k := j
	n := 0
	for k < len(s) && n < 32 {
		c := s[k]
		if c == '\t' || c == '\n' || c == '\f' || c == ' ' || c == '<' || c == '&' || c == '#' || c == ';' {
			break
		}
		_, size := utf8.DecodeRuneInString(s[k:])
		k += size
		n++
	}
	if n == 0 {
		return 0, "", false
	}
	if k < len(s) && s[k] == ';' {
		k++
	}
	name := s[j:k]
	names := getProps().htmlName
	if v, ok := names[name]; ok {
		return k, v, true
	}
	// The longest prefix (at least two characters) that is a known name.
	// Names are ASCII, so only an ASCII prefix can match.
	for x := len(name) - 1; x >= 2; x-- {
		if !utf8.RuneStart(name[x]) {
			continue
		}
		if v, ok := names[name[:x]]; ok {
			return k, v + name[x:], true
		}
	}
	return k, "&" + name, true
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	default:
		return int(c-'A') + 10
	}
}

// numericCharref applies html.unescape's rules to the code point num.
func numericCharref(num int) string {
	switch {
	case num == 0:
		return "\ufffd"
	case num == 0x0d:
		return "\r"
	case num >= 0x80 && num <= 0x9f:
		return string(tabCodecHigh[codecWin1252][num-0x80])
	case (num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff:
		return "\ufffd"
	case (num >= 0x01 && num <= 0x08) || num == 0x0b || (num >= 0x0e && num <= 0x1f) || num == 0x7f ||
		(num >= 0xfdd0 && num <= 0xfdef) || num&0xfffe == 0xfffe:
		return ""
	}
	return string(rune(num))
}

// pyStrip is str.strip(): it removes leading and trailing whitespace as
// str.isspace defines it.
func pyStrip(s string) string {
	p := getProps()
	start := 0
	for start < len(s) {
		r, size := utf8.DecodeRuneInString(s[start:])
		if p.flag(r)&pPySpace == 0 {
			break
		}
		start += size
	}
	end := len(s)
	for end > start {
		r, size := utf8.DecodeLastRuneInString(s[start:end])
		if p.flag(r)&pPySpace == 0 {
			break
		}
		end -= size
	}
	return s[start:end]
}

// collapseWhitespace is whitespace_clean: every run of the regex module's
// \s becomes one space, then the result is stripped.
func collapseWhitespace(s string) string {
	p := getProps()
	need := false
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x80 {
			if c != ' ' && (c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r') {
				need = true
				break
			}
			if c == ' ' && i+1 < len(s) && s[i+1] == ' ' {
				need = true
				break
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if p.flag(r)&pRxSpace != 0 {
			need = true
			break
		}
		i += size
	}
	if !need {
		return pyStrip(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	inSpace := false
	for _, r := range s {
		if r < 0x80 && r != ' ' && r != '\t' && r != '\n' && r != '\v' && r != '\f' && r != '\r' ||
			r >= 0x80 && p.flag(r)&pRxSpace == 0 {
			b.WriteRune(r)
			inSpace = false
			continue
		}
		if !inSpace {
			b.WriteByte(' ')
			inSpace = true
		}
	}
	return pyStrip(b.String())
}

// pyLower is Python's str.lower().
func pyLower(s string) string {
	p := getProps()
	change := false
	for i := 0; i < len(s) && !change; {
		c := s[i]
		if c < 0x80 {
			change = c >= 'A' && c <= 'Z'
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		change = p.flag(r)&pLower != 0
		i += size
	}
	if !change {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range s {
		switch {
		case r < 0x80:
			if r >= 'A' && r <= 'Z' {
				r += 32
			}
			b.WriteByte(byte(r))
		case r == 0x3a3:
			b.WriteRune(lowerSigma(p, s, i))
		case p.flag(r)&pLower != 0:
			if m, ok := tabLowerMulti[r]; ok {
				b.WriteString(m)
			} else {
				lr, _ := lowerRune(r)
				b.WriteRune(lr)
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// lowerSigma lowers the capital sigma at s[i]: final sigma when it ends a
// word (Unicode's Final_Sigma condition), small sigma otherwise.
func lowerSigma(p *unicodeProps, s string, i int) rune {
	j := i
	final := false
	for j > 0 {
		r, size := utf8.DecodeLastRuneInString(s[:j])
		j -= size
		if p.flag(r)&pCaseIgnorable == 0 {
			final = p.flag(r)&pCased != 0
			break
		}
	}
	if !final {
		return 0x3c3
	}
	for j = i + utf8.RuneLen(0x3a3); j < len(s); {
		r, size := utf8.DecodeRuneInString(s[j:])
		j += size
		if p.flag(r)&pCaseIgnorable == 0 {
			if p.flag(r)&pCased != 0 {
				return 0x3c3
			}
			break
		}
	}
	return 0x3c2
}
