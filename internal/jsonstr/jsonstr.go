// Package jsonstr decodes JSON strings quickly, without reflection, with
// exactly the result of encoding/json's Unmarshal into a string.
//
// AppendUnquote takes the common case (a quoted string with valid UTF-8,
// simple escapes and \u escapes) and says when it cannot; the caller then
// uses encoding/json, which gives the same value or the error for the rare
// rest (invalid UTF-8, bad escapes, control characters, null, other types).
package jsonstr

import "unicode/utf8"

// AppendUnquote appends to dst the value of the JSON string literal b
// (the quotes included, nothing around them) and reports ok. When ok is
// false, dst is returned unchanged and b must be decoded by encoding/json:
// it is not valid JSON, or not a string, or it holds invalid UTF-8, or
// anything else this fast path leaves to encoding/json. When ok is true,
// the appended bytes equal the string json.Unmarshal(b, &s) would give.
func AppendUnquote(dst, b []byte) ([]byte, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return dst, false
	}
	start := len(dst)
	s := b[1 : len(b)-1]
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c < 0x20:
			return dst[:start], false
		case c < utf8.RuneSelf && c != '\\':
			j := i + 1
			for j < len(s) && s[j] < utf8.RuneSelf && s[j] >= 0x20 && s[j] != '"' && s[j] != '\\' {
				j++
			}
			dst = append(dst, s[i:j]...)
			i = j
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				return dst[:start], false // encoding/json substitutes U+FFFD
			}
			dst = append(dst, s[i:i+size]...)
			i += size
		default: // backslash
			if i+1 >= len(s) {
				return dst[:start], false
			}
			i++
			switch s[i] {
			case '"', '\\', '/':
				dst = append(dst, s[i])
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				r := hex4(s[i+1:])
				if r < 0 {
					return dst[:start], false
				}
				i += 4
				if r >= 0xd800 && r < 0xe000 {
					// A surrogate: a high one followed by an escaped low
					// one makes a pair; anything else is U+FFFD, and what
					// follows is read on its own (as encoding/json does).
					if r < 0xdc00 && i+2 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
						if r2 := hex4(s[i+3:]); r2 >= 0xdc00 && r2 < 0xe000 {
							r = 0x10000 + (r-0xd800)<<10 + (r2 - 0xdc00)
							i += 6
							dst = utf8.AppendRune(dst, r)
							break
						}
					}
					r = utf8.RuneError
				}
				dst = utf8.AppendRune(dst, r)
			default:
				return dst[:start], false
			}
			i++
		}
	}
	return dst, true
}

// hex4 returns the value of the four hex digits b starts with, or -1.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}
