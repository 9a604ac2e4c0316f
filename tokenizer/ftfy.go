package tokenizer

import (
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// This file re-implements what ftfy 6.3.1's fix_text does with its default
// configuration: it splits the text into lines and, per line, repeats
// unescape_html (unless the text holds '<'), fix_encoding (mojibake repair),
// fix_c1_controls, fix_latin_ligatures, fix_character_width, uncurl_quotes,
// fix_line_breaks, fix_surrogates (nothing to do for Go strings),
// remove_terminal_escapes, remove_control_chars and NFC until nothing
// changes.

// maxDecodeLength is ftfy's max_decode_length: longer lines are cut.
const maxDecodeLength = 1000000

// fixText is ftfy.fix_text(text) with the default configuration.
func fixText(text string) string {
	if asciiNeedsNoFix(text) {
		return text
	}
	p := getProps()
	if stringNeeds(p, text) == 0 {
		return text
	}
	bufp := runeBufs.Get().(*[]rune)
	defer func() {
		if cap(*bufp) <= 1<<16 {
			runeBufs.Put(bufp)
		}
	}()
	t := (*bufp)[:0]
	for _, r := range text {
		t = append(t, r)
	}
	*bufp = t
	unescape := true // "auto" until a segment holding '<' is seen
	var out strings.Builder
	changedAny := false
	for pos := 0; pos < len(t); {
		end := len(t)
		if k := slices.Index(t[pos:], '\n'); k >= 0 {
			end = pos + k + 1
		}
		if end-pos > maxDecodeLength {
			end = pos + maxDecodeLength
		}
		seg := t[pos:end]
		if unescape && slices.Contains(seg, '<') {
			unescape = false
		}
		fixed := fixSegment(seg, unescape)
		if !changedAny && changed(seg, fixed) {
			changedAny = true
			out.Grow(len(text))
			for _, r := range t[:pos] {
				out.WriteRune(r)
			}
		}
		if changedAny {
			for _, r := range fixed {
				out.WriteRune(r)
			}
		}
		pos = end
	}
	if !changedAny {
		return text
	}
	return out.String()
}

// runeBufs recycles the code point buffers of fixText (the result never
// points into them).
var runeBufs = sync.Pool{New: func() any { b := make([]rune, 0, 256); return &b }}

// asciiNeedsNoFix reports whether text is ASCII that fix_text leaves alone:
// no entity, no control character, no CR, no escape sequence.
func asciiNeedsNoFix(text string) bool {
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c >= 0x80 || c == '&' || c == '\r' || c == 0x7f || (c < 0x20 && c != '\t' && c != '\n' && c != '\f') {
			return false
		}
	}
	return true
}

// Characters the fixes act on; a fix whose characters are absent is a
// no-op and is skipped.
const (
	needUnescape = 1 << iota
	needEncoding
	needC1
	needLigature
	needWidth
	needQuote
	needLineBreak
	needEscape
	needControl
	needNFC
)

// needs returns the fixes that could change t.
func needs(p *unicodeProps, t []rune, unescape bool) uint32 {
	var n uint32
	for _, r := range t {
		n |= runeNeeds(p, r)
	}
	if !unescape {
		n &^= needUnescape
	}
	return n
}

// runeNeeds returns the fixes that act on r.
func runeNeeds(p *unicodeProps, r rune) uint32 {
	if r >= 0 && r < 0x10000 {
		return uint32(p.needBMP.get(r))
	}
	if p.flag(r)&pNFCMaybe != 0 {
		return needNFC
	}
	return 0
}

// computeNeeds is runeNeeds from first principles (it fills the table).
func computeNeeds(p *unicodeProps, mt *mojiTables, r rune) uint32 {
	if r < 0x80 {
		switch {
		case r == '&':
			return needUnescape
		case r == '\r':
			return needLineBreak
		case r == 0x1b:
			return needEscape | needControl
		case isRemovedControl(r):
			return needControl
		}
		return 0
	}
	var n uint32
	if mt.mask(r) != 0 {
		n |= needEncoding
		if r <= 0x9f {
			n |= needC1
			if r == 0x85 {
				n |= needLineBreak
			}
		}
	}
	switch {
	case r >= 0x132 && r <= 0x1f3 && latinLigatures[r] != "", r >= 0xfb00 && r <= 0xfb06:
		n |= needLigature
	case r == 0x3000, r >= 0xff01 && r <= 0xffef:
		n |= needWidth
	case r == 0x2bc, r >= 0x2018 && r <= 0x201f:
		n |= needQuote
	case r == 0x2028, r == 0x2029:
		n |= needLineBreak
	case isRemovedControl(r):
		n |= needControl
	}
	if p.flag(r)&pNFCMaybe != 0 {
		n |= needNFC
	}
	return n
}

// stringNeeds returns the fixes that could change s (with unescaping on).
func stringNeeds(p *unicodeProps, s string) uint32 {
	var n uint32
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x80 {
			n |= uint32(p.needBMP.get(rune(c)))
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		n |= runeNeeds(p, r)
		i += size
	}
	return n
}

// changed reports whether a fix returned different text (fixes return
// their input slice itself when they change nothing).
func changed(before, after []rune) bool {
	if len(before) != len(after) {
		return true
	}
	if len(before) == 0 || &before[0] == &after[0] {
		return false
	}
	return !slices.Equal(before, after)
}

// segmentFixes are the fixes of one round, in ftfy's order, with the
// characters each needs.
var segmentFixes = [...]struct {
	need uint32
	fix  func([]rune) []rune
}{
	{needUnescape, ftfyUnescapeHTML},
	{needEncoding, fixEncoding},
	{needC1, fixC1Controls},
	{needLigature, fixLatinLigatures},
	{needWidth, fixCharacterWidth},
	{needQuote, uncurlQuotes},
	{needLineBreak, fixLineBreaks},
	{needEscape, removeTerminalEscapes},
	{needControl, removeControlChars},
	{needNFC, nfc},
}

// fixSegment is ftfy's fix_and_explain on one segment: all the fixes, in
// order, until a round changes nothing. (Fixes whose characters are absent
// would change nothing and are skipped.)
func fixSegment(t []rune, unescape bool) []rune {
	p := getProps()
	for {
		n := needs(p, t, unescape)
		if n == 0 {
			return t
		}
		roundChanged := false
		for _, st := range segmentFixes {
			if n&st.need == 0 {
				continue
			}
			if next := st.fix(t); changed(t, next) {
				t = next
				roundChanged = true
				n = needs(p, t, unescape)
			}
		}
		if !roundChanged {
			return t
		}
	}
}

// fixEncoding is ftfy.fix_encoding: repeat single repair steps until the
// text no longer changes.
func fixEncoding(t []rune) []rune {
	for {
		next := fixEncodingStep(t)
		if slices.Equal(next, t) {
			return t
		}
		t = next
	}
}

func isASCIIRunes(t []rune) bool {
	for _, r := range t {
		if r >= 0x80 {
			return false
		}
	}
	return true
}

// fixEncodingStep performs one step of mojibake repair.
func fixEncodingStep(t []rune) []rune {
	if len(t) == 0 || isASCIIRunes(t) || !isBad(t) {
		return t
	}
	ct := getCodecs()
	latin1 := false
	for c := 0; c < numCodecs; c++ {
		if !ct.encodable(t, c) {
			continue
		}
		if c == codecLatin1 {
			latin1 = true
		}
		b := ct.encode(t, c)
		if c != codecMacRoman && hasAlteredUTF8(b) {
			b = restoreByteA0(b)
		}
		if codecSloppy(c) {
			b = replaceLossy(b)
		}
		var fixed []rune
		var ok bool
		if slices.Contains(b, 0xed) || slices.Contains(b, 0xc0) {
			fixed, ok = decodeUTF8Variants(b)
		} else {
			fixed, ok = decodeStrictUTF8(b)
		}
		if ok {
			return fixed
		}
	}
	mt := getMoji()
	for i := range t {
		if utf8DetectorAt(mt, t, i) > i {
			if fixed := decodeInconsistentUTF8(t); !slices.Equal(fixed, t) {
				return fixed
			}
			break
		}
	}
	if latin1 {
		if fixed, ok := latin1AsWindows1252(t); ok && !slices.Equal(fixed, t) {
			return fixed
		}
	}
	for _, r := range t {
		if r >= 0x80 && r <= 0x9f {
			return fixC1Controls(t)
		}
	}
	return t
}

// decodeInconsistentUTF8 repairs the UTF-8 mojibake sequences embedded in
// otherwise fine text.
func decodeInconsistentUTF8(t []rune) []rune {
	mt := getMoji()
	var out []rune
	last := 0
	for i := 0; i < len(t); {
		end := utf8DetectorAt(mt, t, i)
		if end == i {
			i++
			continue
		}
		sub := t[i:end]
		if len(sub) < len(t) && isBad(sub) {
			out = append(out, t[last:i]...)
			out = append(out, fixEncoding(slices.Clone(sub))...)
			last = end
		}
		i = end
	}
	if out == nil {
		return t
	}
	return append(out, t[last:]...)
}

// latin1AsWindows1252 re-decodes Latin-1 text as strict Windows-1252.
func latin1AsWindows1252(t []rune) ([]rune, bool) {
	out := make([]rune, len(t))
	for i, r := range t {
		if r < 0x80 {
			out[i] = r
			continue
		}
		if slices.Contains(tabCP1252Undefined, byte(r)) {
			return nil, false
		}
		out[i] = tabCodecHigh[codecWin1252][r-0x80]
	}
	return out, true
}

// fixC1Controls decodes C1 controls as Windows-1252 (undefined bytes stay).
func fixC1Controls(t []rune) []rune {
	var out []rune
	for i, r := range t {
		if r >= 0x80 && r <= 0x9f {
			if out == nil {
				out = slices.Clone(t)
			}
			out[i] = tabCodecHigh[codecWin1252][r-0x80]
		}
	}
	if out == nil {
		return t
	}
	return out
}

// latinLigatures maps Latin ligatures and digraphs to their letters.
var latinLigatures = map[rune]string{
	'\u0132': "IJ", '\u0133': "ij", '\u0149': "\u02bcn",
	'\u01f1': "DZ", '\u01f2': "Dz", '\u01f3': "dz",
	'\u01c4': "D\u017d", '\u01c5': "D\u017e", '\u01c6': "d\u017e",
	'\u01c7': "LJ", '\u01c8': "Lj", '\u01c9': "lj",
	'\u01ca': "NJ", '\u01cb': "Nj", '\u01cc': "nj",
	'\ufb00': "ff", '\ufb01': "fi", '\ufb02': "fl", '\ufb03': "ffi",
	'\ufb04': "ffl", '\ufb05': "\u017ft", '\ufb06': "st",
}

// translate replaces every rune for which repl returns ok.
func translate(t []rune, repl func(rune) (string, bool)) []rune {
	var out []rune
	for i, r := range t {
		s, ok := repl(r)
		if !ok {
			if out != nil {
				out = append(out, r)
			}
			continue
		}
		if out == nil {
			out = make([]rune, i, len(t)+8)
			copy(out, t[:i])
		}
		out = append(out, []rune(s)...)
	}
	if out == nil {
		return t
	}
	return out
}

func fixLatinLigatures(t []rune) []rune {
	return translate(t, func(r rune) (string, bool) {
		if r < 0x132 {
			return "", false
		}
		s, ok := latinLigatures[r]
		return s, ok
	})
}

func fixCharacterWidth(t []rune) []rune {
	w := getProps().width
	return translate(t, func(r rune) (string, bool) {
		if r != 0x3000 && (r < 0xff01 || r > 0xffef) {
			return "", false
		}
		s, ok := w[r]
		return s, ok
	})
}

func uncurlQuotes(t []rune) []rune {
	return translate(t, func(r rune) (string, bool) {
		switch {
		case r == 0x2bc || (r >= 0x2018 && r <= 0x201b):
			return "'", true
		case r >= 0x201c && r <= 0x201f:
			return "\"", true
		}
		return "", false
	})
}

func fixLineBreaks(t []rune) []rune {
	var out []rune
	for i, r := range t {
		repl, drop := r, false
		switch r {
		case '\r':
			if i+1 < len(t) && t[i+1] == '\n' {
				drop = true
			} else {
				repl = '\n'
			}
		case 0x2028, 0x2029, 0x85:
			repl = '\n'
		}
		if (repl != r || drop) && out == nil {
			out = make([]rune, i, len(t))
			copy(out, t[:i])
		}
		if out != nil && !drop {
			out = append(out, repl)
		}
	}
	if out == nil {
		return t
	}
	return out
}

// removeTerminalEscapes deletes ANSI escapes: ESC '[' (digits|';')* letter.
func removeTerminalEscapes(t []rune) []rune {
	if !slices.Contains(t, 0x1b) {
		return t
	}
	p := getProps()
	out := make([]rune, 0, len(t))
	for i := 0; i < len(t); {
		if t[i] == 0x1b && i+1 < len(t) && t[i+1] == '[' {
			j := i + 2
			for j < len(t) && (t[j] == ';' || p.flag(t[j])&pPyDigit != 0) {
				j++
			}
			if j < len(t) && isAZi(t[j]) {
				i = j + 1
				continue
			}
		}
		out = append(out, t[i])
		i++
	}
	return out
}

func isRemovedControl(r rune) bool {
	switch {
	case r < 0x20:
		return r <= 0x08 || r == 0x0b || r >= 0x0e
	case r == 0x7f, r >= 0x206a && r <= 0x206f, r == 0xfeff, r >= 0xfff9 && r <= 0xfffc:
		return true
	}
	return false
}

func removeControlChars(t []rune) []rune {
	var out []rune
	for i, r := range t {
		if isRemovedControl(r) {
			if out == nil {
				out = make([]rune, i, len(t))
				copy(out, t[:i])
			}
			continue
		}
		if out != nil {
			out = append(out, r)
		}
	}
	if out == nil {
		return t
	}
	return out
}

// ftfyUnescapeHTML is ftfy's unescape_html: it decodes "&name;" (HTML5
// names with a semicolon, plus all-caps forms of some) and numeric
// references "&#...;" that Python's html.unescape decodes completely.
func ftfyUnescapeHTML(t []rune) []rune {
	if !slices.Contains(t, '&') {
		return t
	}
	p := getProps()
	var out []rune
	last := 0
	for i := 0; i < len(t); i++ {
		if t[i] != '&' {
			continue
		}
		j := i + 1
		if j < len(t) && t[j] == '#' {
			j++
		}
		k := j
		for k < len(t) && k-j < 25 && isAlnumASCII(t[k]) {
			k++
		}
		n := k - j
		if n < 1 || n > 24 || k >= len(t) || t[k] != ';' {
			continue
		}
		ent := string(t[i : k+1])
		var repl string
		if v, ok := p.htmlName[ent[1:]]; ok {
			repl = v
		} else if v, ok := p.htmlUp[ent[1:]]; ok {
			repl = v
		} else if strings.HasPrefix(ent, "&#") {
			u := pyHTMLUnescape(ent)
			if strings.Contains(u, ";") {
				continue
			}
			repl = u
		} else {
			continue
		}
		out = append(out, t[last:i]...)
		out = append(out, []rune(repl)...)
		last = k + 1
		i = k
	}
	if out == nil && last == 0 {
		return t
	}
	return append(out, t[last:]...)
}

func isAlnumASCII(r rune) bool {
	return (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
}
