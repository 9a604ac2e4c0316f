package tokenizer

import "unicode/utf8"

// The official pre-tokenizer pattern, compiled by the regex module with
// IGNORECASE:
//
//	<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
//
// matched here by hand. Its classes are exclusive: every code point is a
// letter, a number, "other", or skipped (whitespace, plus U+0345, which under
// IGNORECASE matches no class).

var patternLiterals = []string{
	"<|startoftext|>", "<|endoftext|>", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d",
}

// foldEq reports whether r matches the pattern's literal character lit under
// the regex module's IGNORECASE.
func foldEq(r, lit rune) bool {
	if r == lit {
		return true
	}
	if r < 0x80 {
		return r|0x20 == lit && lit >= 'a' && lit <= 'z'
	}
	for _, c := range tabTokFold[lit] {
		if c == r {
			return true
		}
	}
	return false
}

// literalAt returns the byte length of the pattern literal matching s at i,
// or 0.
func literalAt(s string, i int) int {
	c := s[i]
	var cands []string
	switch c {
	case '<':
		cands = patternLiterals[:2]
	case '\'':
		cands = patternLiterals[2:]
	default:
		return 0
	}
	for _, lit := range cands {
		j := i
		ok := true
		for _, lr := range lit {
			if j >= len(s) {
				ok = false
				break
			}
			r, size := utf8.DecodeRuneInString(s[j:])
			if !foldEq(r, lr) {
				ok = false
				break
			}
			j += size
		}
		if ok {
			return j - i
		}
	}
	return 0
}

// Pattern classes.
const (
	clsOther = iota
	clsLetter
	clsNumber
	clsSkip
)

// asciiClass holds the class of each ASCII character.
var asciiClass = func() (t [128]uint8) {
	for c := 0; c < 128; c++ {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			t[c] = clsLetter
		case c >= '0' && c <= '9':
			t[c] = clsNumber
		case c == ' ', c >= '\t' && c <= '\r':
			t[c] = clsSkip
		default:
			t[c] = clsOther
		}
	}
	return t
}()

func (p *unicodeProps) class(r rune) uint8 {
	if r < 0x80 && r >= 0 {
		return asciiClass[r]
	}
	f := p.flag(r)
	switch {
	case f&pTokLetter != 0:
		return clsLetter
	case f&pTokNumber != 0:
		return clsNumber
	case f&pTokSkip != 0:
		return clsSkip
	}
	return clsOther
}

// nextPretoken returns the bounds of the first match of the pattern in s at
// or after i, or start == len(s) when there is none.
func nextPretoken(p *unicodeProps, s string, i int) (start, end int) {
	for i < len(s) {
		c := s[i]
		var cls uint8
		size := 1
		if c < 0x80 {
			if c == '<' || c == '\'' {
				if n := literalAt(s, i); n > 0 {
					return i, i + n
				}
			}
			cls = asciiClass[c]
		} else {
			var r rune
			r, size = utf8.DecodeRuneInString(s[i:])
			cls = p.class(r)
		}
		switch cls {
		case clsSkip:
			i += size
			continue
		case clsNumber:
			return i, i + size
		}
		j := i + size
		for j < len(s) {
			c := s[j]
			if c < 0x80 {
				if asciiClass[c] != cls {
					break
				}
				j++
				continue
			}
			r, size := utf8.DecodeRuneInString(s[j:])
			if p.class(r) != cls {
				break
			}
			j += size
		}
		return i, j
	}
	return len(s), len(s)
}
