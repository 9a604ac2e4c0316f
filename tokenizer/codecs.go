package tokenizer

import (
	"sync"
	"unicode/utf8"
)

// The single-byte codecs ftfy tries, in its order. The windows-125x ones are
// "sloppy": bytes the standard codec leaves undefined decode as Latin-1, and
// byte 0x1A stands for U+FFFD.
const (
	codecLatin1 = iota
	codecWin1252
	codecWin1251
	codecWin1250
	codecWin1253
	codecWin1254
	codecWin1257
	codecISO8859_2
	codecMacRoman
	codecCP437
	numCodecs
)

func codecSloppy(c int) bool { return c >= codecWin1252 && c <= codecWin1257 }

type codecTables struct {
	enc [numCodecs]map[rune]byte // characters >= 0x80 to bytes
}

var getCodecs = sync.OnceValue(func() *codecTables {
	ct := &codecTables{}
	for c := 0; c < numCodecs; c++ {
		m := make(map[rune]byte, 128)
		for i, r := range tabCodecHigh[c] {
			m[r] = byte(0x80 + i)
		}
		ct.enc[c] = m
	}
	return ct
})

// encodable reports whether every character of t can be encoded in codec c
// (ftfy's possible_encoding).
func (ct *codecTables) encodable(t []rune, c int) bool {
	sloppy := codecSloppy(c)
	for _, r := range t {
		if r < 0x80 {
			if r == 0x1a && sloppy {
				return false
			}
			continue
		}
		if r == 0xfffd && sloppy {
			continue
		}
		if c == codecLatin1 {
			if r > 0xff {
				return false
			}
			continue
		}
		if _, ok := ct.enc[c][r]; !ok {
			return false
		}
	}
	return true
}

// encode encodes t, which must be encodable, in codec c.
func (ct *codecTables) encode(t []rune, c int) []byte {
	b := make([]byte, 0, len(t))
	for _, r := range t {
		switch {
		case r < 0x80:
			b = append(b, byte(r))
		case r == 0xfffd && codecSloppy(c):
			b = append(b, 0x1a)
		case c == codecLatin1:
			b = append(b, byte(r))
		default:
			b = append(b, ct.enc[c][r])
		}
	}
	return b
}

// decodeStrictUTF8 decodes b as UTF-8, failing on any invalid sequence.
func decodeStrictUTF8(b []byte) ([]rune, bool) {
	if !utf8.Valid(b) {
		return nil, false
	}
	return []rune(string(b)), true
}

// decodeUTF8Variants decodes b with ftfy's "utf-8-variants" codec: UTF-8
// that may also hold CESU-8 surrogate pairs and the two-byte NUL 0xC0 0x80,
// failing on anything else that is not valid UTF-8. Its quirks are kept:
// the codec finds its special sequences with a pattern whose "$" also
// matches before a final newline, so a 0xC0 followed by that newline
// decodes as NUL, and a CESU-8 pair cut short by it takes the newline as
// its last byte.
func decodeUTF8Variants(b []byte) ([]rune, bool) {
	n := len(b)
	// atEnd is the pattern's "$": the end, or a final newline.
	atEnd := func(q int) bool { return q == n || (q == n-1 && b[q] == '\n') }
	in := func(q int, lo, hi byte) bool { return q < n && b[q] >= lo && b[q] <= hi }
	// cesu reports whether the CESU-8 pattern matches at p.
	cesu := func(p int) bool {
		groups := [5][2]byte{{0xa0, 0xaf}, {0x80, 0xbf}, {0xed, 0xed}, {0xb0, 0xbf}, {0x80, 0xbf}}
		q := p + 1
		for _, g := range groups {
			switch {
			case in(q, g[0], g[1]):
				q++
			case atEnd(q):
				return true
			default:
				return false
			}
		}
		return true
	}
	special := func(p int) bool {
		switch b[p] {
		case 0xc0:
			return (p+1 < n && b[p+1] == 0x80) || atEnd(p+1)
		case 0xed:
			if cesu(p) {
				return true
			}
			q := p + 1
			if in(q, 0xa0, 0xbf) {
				q++
			} else if !atEnd(q) {
				return false
			}
			return in(q, 0x80, 0xbf) || atEnd(q)
		}
		return false
	}
	out := make([]rune, 0, n)
	for i := 0; i < n; {
		p := i
		for p < n && !special(p) {
			p++
		}
		if p > i {
			if !utf8.Valid(b[i:p]) {
				return nil, false
			}
			for _, r := range string(b[i:p]) {
				out = append(out, r)
			}
			i = p
			continue
		}
		if b[i] == 0xc0 {
			if n-i < 2 {
				return nil, false
			}
			out = append(out, 0)
			i += 2
			continue
		}
		// 0xED that starts a (possibly cut) surrogate: only a whole
		// CESU-8 pair decodes.
		if n-i < 6 || !cesu(i) {
			return nil, false
		}
		cp := rune(b[i+1]&0x0f)<<16 | rune(b[i+2]&0x3f)<<10 | rune(b[i+4]&0x0f)<<6 | rune(b[i+5]&0x3f)
		out = append(out, cp+0x10000)
		i += 6
	}
	return out, true
}

// decodeReplace decodes b as UTF-8 the way Python's bytes.decode("utf-8",
// "replace") does: each maximal ill-formed subpart becomes one U+FFFD.
func decodeReplace(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]byte, 0, len(b)+8)
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || size > 1 {
			out = append(out, b[i:i+size]...)
			i += size
			continue
		}
		out = utf8.AppendRune(out, utf8.RuneError)
		i += maximalSubpart(b[i:])
	}
	return string(out)
}

// maximalSubpart returns the length (>= 1) of the ill-formed sequence at the
// start of b that one replacement character stands for.
func maximalSubpart(b []byte) int {
	c := b[0]
	var need int
	lo, hi := byte(0x80), byte(0xbf)
	switch {
	case c >= 0xc2 && c <= 0xdf:
		need = 1
	case c == 0xe0:
		need, lo = 2, 0xa0
	case c >= 0xe1 && c <= 0xec, c == 0xee, c == 0xef:
		need = 2
	case c == 0xed:
		need, hi = 2, 0x9f
	case c == 0xf0:
		need, lo = 3, 0x90
	case c >= 0xf1 && c <= 0xf3:
		need = 3
	case c == 0xf4:
		need, hi = 3, 0x8f
	default:
		return 1
	}
	n := 1
	for k := 0; k < need && n < len(b); k++ {
		x := b[n]
		if k == 0 {
			if x < lo || x > hi {
				break
			}
		} else if x < 0x80 || x > 0xbf {
			break
		}
		n++
	}
	return n
}

// alteredUTF8At reports the length of an ALTERED_UTF8_RE match at i (UTF-8
// that would be valid if a space were byte 0xA0), or 0.
func alteredUTF8At(b []byte, i int) int {
	at := func(k int) int {
		if i+k < len(b) {
			return int(b[i+k])
		}
		return -1
	}
	isCont := func(x int) bool { return x >= 0x80 && x <= 0xbf }
	isContNo85A0 := func(x int) bool { return isCont(x) && x != 0x85 && x != 0xa0 }
	c := at(0)
	switch {
	case (c == 0xc2 || c == 0xc3 || c == 0xc5 || c == 0xce || c == 0xd0 || c == 0xd9) && at(1) == ' ':
		return 2
	case (c == 0xe2 || c == 0xe3) && at(1) == ' ' && isContNo85A0(at(2)):
		return 3
	case c >= 0xe0 && c <= 0xe3 && isContNo85A0(at(1)) && at(2) == ' ':
		return 3
	case c == 0xf0 && at(1) == ' ' && isCont(at(2)) && isCont(at(3)):
		return 4
	case c == 0xf0 && isCont(at(1)) && at(2) == ' ' && isCont(at(3)):
		return 4
	case c == 0xf0 && isCont(at(1)) && isCont(at(2)) && at(3) == ' ':
		return 4
	}
	return 0
}

func hasAlteredUTF8(b []byte) bool {
	for i := range b {
		if alteredUTF8At(b, i) > 0 {
			return true
		}
	}
	return false
}

// restoreByteA0 puts back the 0xA0 bytes that became spaces inside UTF-8
// sequences (ftfy's restore_byte_a0).
func restoreByteA0(b []byte) []byte {
	// First "Ã " as a word of its own (à, not the start of the next word),
	// except before the Portuguese words it usually starts.
	var x []byte
	for i := 0; i < len(b); i++ {
		if b[i] == 0xc3 && i+1 < len(b) && b[i+1] == ' ' && !aGraveException(b[i+2:]) {
			x = append(x, 0xc3, 0xa0, ' ')
			i++
			continue
		}
		x = append(x, b[i])
	}
	out := make([]byte, 0, len(x))
	for i := 0; i < len(x); {
		if n := alteredUTF8At(x, i); n > 0 {
			for _, c := range x[i : i+n] {
				if c == ' ' {
					c = 0xa0
				}
				out = append(out, c)
			}
			i += n
			continue
		}
		out = append(out, x[i])
		i++
	}
	return out
}

func aGraveException(rest []byte) bool {
	s := string(rest)
	for _, p := range []string{" ", "quele", "quela", "quilo", "s "} {
		if len(s) >= len(p) && s[:len(p)] == p {
			return true
		}
	}
	return false
}

// lossyAt reports the length of a LOSSY_UTF8_RE match at i, or 0: UTF-8
// sequences whose lost bytes became 0x1A (or one '?').
func lossyAt(b []byte, i int) int {
	at := func(k int) int {
		if i+k < len(b) {
			return int(b[i+k])
		}
		return -1
	}
	in := func(x, lo, hi int) bool { return x >= lo && x <= hi }
	sub := func(x int) bool { return x == 0x1a }
	subQ := func(x int) bool { return x == 0x1a || x == '?' }
	subC := func(x int) bool { return x == 0x1a || in(x, 0x80, 0xbf) }
	subQC := func(x int) bool { return x == 0x1a || x == '?' || in(x, 0x80, 0xbf) }
	c := at(0)
	switch {
	case in(c, 0xc2, 0xdf) && sub(at(1)):
		return 2
	case in(c, 0xc2, 0xc3) && at(1) == '?':
		return 2
	case c == 0xed && in(at(1), 0xa0, 0xaf) && subQ(at(2)) && at(3) == 0xed && in(at(4), 0xb0, 0xbf) && subQC(at(5)):
		return 6
	case c == 0xed && in(at(1), 0xa0, 0xaf) && subQC(at(2)) && at(3) == 0xed && in(at(4), 0xb0, 0xbf) && subQ(at(5)):
		return 6
	case in(c, 0xe0, 0xef) && subQ(at(1)) && subC(at(2)):
		return 3
	case in(c, 0xe0, 0xef) && subC(at(1)) && subQ(at(2)):
		return 3
	case in(c, 0xf0, 0xf4) && subQ(at(1)) && subC(at(2)) && subC(at(3)):
		return 4
	case in(c, 0xf0, 0xf4) && subC(at(1)) && subQ(at(2)) && subC(at(3)):
		return 4
	case in(c, 0xf0, 0xf4) && subC(at(1)) && subC(at(2)) && subQ(at(3)):
		return 4
	case c == 0x1a:
		return 1
	}
	return 0
}

// replaceLossy replaces each lossy sequence with the UTF-8 of U+FFFD (ftfy's
// replace_lossy_sequences).
func replaceLossy(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		if n := lossyAt(b, i); n > 0 {
			out = append(out, 0xef, 0xbf, 0xbd)
			i += n
			continue
		}
		out = append(out, b[i])
		i++
	}
	return out
}
