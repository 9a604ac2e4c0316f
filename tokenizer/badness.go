package tokenizer

import "sync"

// This file holds ftfy 6.3.1's mojibake heuristic ("badness") and the
// detector of embedded UTF-8 mojibake, re-expressed as hand-written matchers
// over code points. The character categories are the ones ftfy's heuristic
// uses; the rules are the alternatives of its badness expression.

// Mojibake character categories (bit masks).
const (
	mC1       = 1 << iota // C1 controls U+0080-U+009F
	mBad                  // characters nearly only seen in mojibake
	mLaw                  // ¶ §
	mCurrency             // ¢ £ ¥ ₧ €
	mStartP               // punctuation that starts phrases
	mEndP                 // punctuation that ends phrases
	mNumeric              // numeric symbols
	mKaomoji              // letters used in emoticons
	mUpperAcc             // accented capitals
	mLowerAcc             // accented small letters
	mUpperCom             // common non-ASCII capitals (Greek, Cyrillic)
	mLowerCom             // common non-ASCII small letters
	mBox                  // box drawing
	mCommon               // characters common in and out of mojibake
	mF2                   // could be a UTF-8 lead byte of 2
	mF3                   // could be a UTF-8 lead byte of 3
	mF4                   // could be a UTF-8 lead byte of 4
	mCont                 // could be a UTF-8 continuation byte
	mStrict               // continuation-like, excluding punctuation
	mSpecial              // used literally by some rule
)

// mojiTables maps code points below mojiLimit to their categories; the few
// members above it are handled in mojiMask.
type mojiTables struct {
	low [mojiLimit]uint32
}

const mojiLimit = 0x2600

var getMoji = sync.OnceValue(buildMoji)

func buildMoji() *mojiTables {
	t := &mojiTables{}
	add := func(bit uint32, spec string) {
		rs := []rune(spec)
		for i := 0; i < len(rs); i++ {
			lo, hi := rs[i], rs[i]
			if i+2 < len(rs) && rs[i+1] == '-' {
				hi = rs[i+2]
				i += 2
			}
			for r := lo; r <= hi; r++ {
				if r < mojiLimit {
					t.low[r] |= bit
				}
			}
		}
	}
	add(mCommon, "\u00a0\u00ad\u00b7\u00b4\u2013\u2014\u2015\u2026\u2019")
	add(mC1, "\u0080-\u009f")
	add(mBad, "\u00a6\u00a4\u00a8\u00ac\u00af\u00b8\u0192\u02c6\u02c7\u02d8\u02db\u02dc"+
		"\u2020\u2021\u2030\u2310\u25ca\u00aa\u00ba") // and U+FFFD
	add(mLaw, "\u00b6\u00a7")
	add(mCurrency, "\u00a2\u00a3\u00a5\u20a7\u20ac")
	add(mStartP, "\u00a1\u00ab\u00bf\u00a9\u0384\u0385\u2018\u201a\u201c\u201e\u2022\u2039") // and U+F8FF
	add(mEndP, "\u00ae\u00bb\u02dd\u201d\u203a\u2122")
	add(mNumeric, "\u00b2\u00b3\u00b9\u00b1\u00bc\u00bd\u00be\u00d7\u00b5\u00f7\u2044\u2202"+
		"\u2206\u220f\u2211\u221a\u221e\u2229\u222b\u2248\u2260\u2261\u2264\u2265\u2116")
	add(mKaomoji, "\u00d2-\u00d6\u00d9-\u00dc\u00f2-\u00f6\u00f8-\u00fc\u0150\u014c\u016a\u0172\u00b0")
	add(mUpperAcc, "\u00c0-\u00d1\u00d8\u00dc\u00dd\u0102\u0100\u0104\u0106\u010c\u010e\u0110"+
		"\u0118\u011a\u0112\u0116\u011e\u0122\u0130\u012a\u0136\u0139\u013d\u0141\u013b\u0143"+
		"\u0147\u0145\u0152\u0158\u015a\u015e\u0160\u0162\u0164\u016e\u0170\u0178\u0179\u017b"+
		"\u017d\u0490")
	add(mLowerAcc, "\u00df\u00e0-\u00f1\u0103\u0105\u0101\u0107\u010d\u010f\u0111\u0119\u011b"+
		"\u0113\u0117\u011f\u0123\u012f\u012b\u0137\u013a\u013e\u0142\u013c\u0153\u0155\u015b"+
		"\u015f\u0161\u0165\u00fc\u017a\u017c\u017e\u0491") // and U+FB01, U+FB02
	add(mUpperCom, "\u00de\u0391-\u03a9\u0386\u0388\u0389\u038a\u038c\u038e\u038f\u03aa\u03ab"+
		"\u0401-\u042f")
	add(mLowerCom, "\u03b1-\u03c9\u03ac\u03ad\u03ae\u03af\u03b0\u0430-\u045f")
	add(mBox, "\u2502\u250c\u2510\u2518\u251c\u2524\u252c\u253c\u2550-\u256c"+
		"\u2580\u2584\u2588\u258c\u2590\u2591\u2592\u2593")
	// Characters some rules name one by one.
	add(mSpecial, "ŒœÂÃÎÐ×ØÙà√≈‚вВГРСβΒΓΞΟā")

	for _, r := range tabUTF8First2 {
		t.low[r] |= mF2
	}
	for _, r := range tabUTF8First3 {
		t.low[r] |= mF3
	}
	for _, r := range tabUTF8First4 {
		t.low[r] |= mF4
	}
	// Continuation: bytes 0x80-0xBF in Latin-1, what they decode to in the
	// other codecs, and a space standing for a lost U+00A0.
	add(mCont|mStrict, "\u0080-\u00bf")
	t.low[' '] |= mCont
	for _, r := range tabUTF8Cont {
		t.low[r] |= mCont | mStrict
	}
	// The strict set leaves out dashes, quotation marks, bullet and ellipsis.
	for _, r := range "\u2013\u2014\u2015\u2018\u2019\u201a\u201c\u201d\u201e\u2022\u2026" {
		t.low[r] &^= mStrict
	}
	return t
}

// mask returns the mojibake categories of r.
func (t *mojiTables) mask(r rune) uint32 {
	if r >= 0 && r < mojiLimit {
		return t.low[r]
	}
	switch r {
	case 0xF8FF:
		return mStartP
	case 0xFB01, 0xFB02:
		return mLowerAcc
	case 0xFFFD:
		return mBad
	}
	return 0
}

func isAZ(r rune) bool  { return r >= 'a' && r <= 'z' }
func isAZi(r rune) bool { return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') }

func runeIn(r rune, set string) bool {
	for _, c := range set {
		if c == r {
			return true
		}
	}
	return false
}

// isBad reports whether t looks like it contains mojibake (ftfy's is_bad):
// whether any rule of the heuristic matches somewhere in t.
func isBad(t []rune) bool {
	mt := getMoji()
	pr := getProps()
	n := len(t)
	// The categories of each character; every rule needs a categorised
	// non-ASCII character, so the scan stops here when there is none.
	var buf [128]uint32
	ms := buf[:0]
	if n > len(buf) {
		ms = make([]uint32, 0, n)
	}
	any := false
	for _, r := range t {
		m := mt.mask(r)
		ms = append(ms, m)
		if r >= 0x80 && m != 0 {
			any = true
		}
	}
	if !any {
		return false
	}
	for i := 0; i < n; i++ {
		m0 := ms[i]
		var m1, m2 uint32
		r1, r2, r3 := rune(-1), rune(-1), rune(-1)
		if i+1 < n {
			m1, r1 = ms[i+1], t[i+1]
		}
		if i+2 < n {
			m2, r2 = ms[i+2], t[i+2]
		}
		if m0|m1|m2 == 0 {
			continue
		}
		if i+3 < n {
			r3 = t[i+3]
		}
		r0 := t[i]
		if m0 != 0 && badGeneric(pr, m0, m1, m2, r1, r2) {
			return true
		}
		if m0&mSpecial != 0 && badSpecial(mt, t, i) {
			return true
		}
		// Rules that start with an ASCII letter or punctuation.
		if r0 < 0x80 && m1|m2 != 0 {
			switch {
			case isAZi(r0) && m1&(mLowerCom|mUpperCom) != 0 && m2&mBad != 0:
				return true
			case isAZ(r0) && m1&mUpperAcc != 0 && m2&(mStartP|mCurrency) != 0:
				return true
			case isAZ(r0) && ((r1 >= 0 && pr.flag(r1)&pPySpace != 0 && (r2 == 'Ã' || r2 == 'Â') && r3 == ' ') ||
				((r1 == 'Ã' || r1 == 'Â') && r2 == ' ')):
				return true
			case (isAZ(r0) || r0 == '.' || r0 == ',' || r0 == '?' || r0 == '!') && r1 == 'Â' &&
				(r2 == ' ' || m2&(mStartP|mEndP) != 0):
				return true
			}
		}
		// \s [upper_accented] [currency]
		if m1&mUpperAcc != 0 && m2&mCurrency != 0 && pr.flag(r0)&pPySpace != 0 {
			return true
		}
	}
	return false
}

// badGeneric checks the rules that only look at categories, for a first
// character with categories m0.
func badGeneric(pr *unicodeProps, m0, m1, m2 uint32, r1, r2 rune) bool {
	switch {
	case m0&mC1 != 0:
		return true
	case m0&(mBad|mLowerAcc|mUpperAcc|mBox|mStartP|mEndP|mCurrency|mNumeric|mLaw) != 0 && m1&mBad != 0:
		return true
	case m0&mBad != 0 && m1&(mLowerAcc|mUpperAcc|mBox|mStartP|mEndP|mCurrency|mNumeric|mLaw) != 0:
		return true
	case m0&(mLowerAcc|mLowerCom|mBox|mEndP|mCurrency|mNumeric) != 0 && m1&mUpperAcc != 0:
		return true
	case m0&(mBox|mEndP|mCurrency|mNumeric) != 0 && m1&mLowerAcc != 0:
		return true
	case m0&(mLowerAcc|mBox|mEndP) != 0 && m1&mCurrency != 0:
		return true
	case m0&(mUpperAcc|mBox) != 0 && m1&(mNumeric|mLaw) != 0:
		return true
	case m0&(mLowerAcc|mUpperAcc|mBox|mCurrency|mEndP) != 0 && m1&mStartP != 0 && m2&mNumeric != 0:
		return true
	case m0&(mLowerAcc|mUpperAcc|mCurrency|mNumeric|mBox|mLaw) != 0 && m1&mEndP != 0 && m2&mStartP != 0:
		return true
	case m0&(mCurrency|mNumeric|mBox) != 0 && m1&mStartP != 0:
		return true
	case m0&mBox != 0 && m1&mKaomoji != 0:
		return true
	case m0&(mLowerAcc|mUpperAcc|mCurrency|mNumeric|mStartP|mEndP|mLaw) != 0 && m1&mBox != 0:
		return true
	case m0&mBox != 0 && m1&mEndP != 0:
		return true
	case m0&(mLowerAcc|mUpperAcc) != 0 && m1&(mStartP|mEndP) != 0 && r2 >= 0 && pr.flag(r2)&pPyWord != 0:
		return true
	case m0&mUpperAcc != 0 && r1 == '°':
		return true
	case m0&mEndP != 0 && r1 == 'Â' && (r2 == ' ' || m2&(mStartP|mEndP) != 0):
		return true
	}
	return false
}

// badSpecial checks the rules that start with one particular character.
func badSpecial(mt *mojiTables, t []rune, i int) bool {
	n := len(t)
	at := func(k int) rune {
		if k < n {
			return t[k]
		}
		return -1
	}
	m := func(k int) uint32 {
		if k < n {
			return mt.mask(t[k])
		}
		return 0
	}
	r0, r1, r2 := t[i], at(i+1), at(i+2)
	m1 := m(i + 1)
	switch r0 {
	case 'Œ', 'œ':
		return r1 >= 0 && !isAZi(r1)
	case 'Â', 'Ã', 'Î', 'Ð':
		if r1 >= 0 && (runeIn(r1, "€œŠš¢£Ÿž\u00a0\u00ad®©°·»–—´") || m1&(mStartP|mEndP) != 0) {
			return true
		}
		if r0 == 'Ã' && (r1 == '\u00a0' || r1 == '¡') {
			return true
		}
		return i == 0 && (r0 == 'Ã' || r0 == 'Â') && r1 == ' '
	case '×':
		return r1 == '²' || r1 == '³'
	case 'Ø', 'Ù':
		return arabicMoji(mt, r1) && (r2 == 'Ø' || r2 == 'Ù') && arabicMoji(mt, at(i+3))
	case 'à':
		return r1 >= 0 && runeIn(r1, "²µ¹¼½¾")
	case '√':
		return r1 >= 0 && runeIn(r1, "±∂†≠®™´≤≥¥µø")
	case '≈':
		return r1 == '°' || r1 == '¢'
	case '‚':
		return (r1 == 'Ä' && r2 >= 0 && runeIn(r2, "ìîïòôúùû†°¢π")) ||
			((r1 == 'â' || r1 == 'ó') && r2 >= 0 && runeIn(r2, "àä°ê"))
	case 'в':
		return r1 == 'Ђ'
	case 'В', 'Г', 'Р', 'С':
		if r1 >= 0 && (m1&(mC1|mBad|mStartP|mEndP|mCurrency) != 0 || r1 == '°' || r1 == 'µ') &&
			r2 >= 0 && runeIn(r2, "ВГРС") {
			return true
		}
		return r0 == 'Г' && r1 == 'ў' && r2 == 'В' && at(i+3) == 'Ђ' && at(i+4) == 'В' &&
			at(i+5) >= 0 && at(i+5) != '\n' && (isAZi(at(i+6)) || at(i+6) == ' ')
	case 'β':
		return r1 == '€' && r2 >= 0 && runeIn(r2, "™\u00a0Ά\u00ad®°")
	case 'Β', 'Γ', 'Ξ', 'Ο':
		return r1 >= 0 && (m1&(mC1|mBad|mStartP|mEndP|mCurrency) != 0 || r1 == '°') && r2 >= 0 && runeIn(r2, "ΒΓΞΟ")
	case 'ā':
		return r1 == '€'
	}
	return false
}

// arabicMoji is the character class of the Windows-1252 Arabic rule.
func arabicMoji(mt *mojiTables, r rune) bool {
	if r < 0 {
		return false
	}
	return mt.mask(r)&(mCommon|mCurrency|mBad|mNumeric|mStartP) != 0 || runeIn(r, "ŸŠ®°µ»")
}

// utf8SeqEnd returns the end of the run of UTF-8-looking sequences that
// starts at i (ftfy's UTF8_DETECTOR_RE body), or i when there is none.
func utf8SeqEnd(mt *mojiTables, t []rune, i int) int {
	n := len(t)
	cont := func(j int) bool { return j < n && mt.mask(t[j])&mCont != 0 }
	p := i
	for p < n {
		m := mt.mask(t[p])
		switch {
		case m&mF2 != 0 && cont(p+1):
			p += 2
		case m&mF3 != 0 && cont(p+1) && cont(p+2):
			p += 3
		case m&mF4 != 0 && cont(p+1) && cont(p+2) && cont(p+3):
			p += 4
		default:
			return p
		}
	}
	return p
}

// utf8DetectorAt reports the end of a UTF8_DETECTOR_RE match at i, or i.
func utf8DetectorAt(mt *mojiTables, t []rune, i int) int {
	if i > 0 && mt.mask(t[i-1])&mStrict != 0 {
		return i
	}
	return utf8SeqEnd(mt, t, i)
}
