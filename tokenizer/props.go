package tokenizer

import (
	"sort"
	"sync"
)

// Per-code-point property bits, all following the reference Python
// environment (see tables.go) rather than Go's own Unicode tables.
const (
	pTokLetter     = 1 << iota // [\p{L}] of the pre-tokenizer pattern
	pTokNumber                 // [\p{N}] of the pre-tokenizer pattern
	pTokSkip                   // matched by no class of the pattern
	pPySpace                   // str.isspace (str.strip, re's \s)
	pRxSpace                   // the regex module's \s (whitespace_clean)
	pPyWord                    // re's \w
	pPyDigit                   // re's \d
	pCaseIgnorable             // Case_Ignorable (Final_Sigma rule)
	pCased                     // Cased and not Case_Ignorable
	pNFCMaybe                  // may be changed or combined by NFC
	pLower                     // str.lower() changes it
)

// unicodeProps holds the lookup structures derived from tables.go. They are
// built once, on first use, and never modified afterwards.
type unicodeProps struct {
	flags    table16 // property bits, all of Unicode
	needBMP  table16 // ftfy fixes each BMP code point may need (see runeNeeds)
	htmlName map[string]string
	htmlUp   map[string]string
	width    map[rune]string
	canon    map[rune][2]rune
	compose  map[uint64]rune
}

var getProps = sync.OnceValue(buildProps)

func buildProps() *unicodeProps {
	p := &unicodeProps{}
	var rs rangeSet
	rs.addPairs(tabTokLetter, pTokLetter)
	rs.addPairs(tabTokNumber, pTokNumber)
	rs.addPairs(tabTokSkip, pTokSkip)
	rs.addPairs(tabPySpace, pPySpace)
	rs.addPairs(tabRxSpace, pRxSpace)
	rs.addPairs(tabPyWord, pPyWord)
	rs.addPairs(tabPyDigit, pPyDigit)
	rs.addPairs(tabCaseIgnorable, pCaseIgnorable)
	rs.addPairs(tabCased, pCased)
	rs.addPairs(tabNFCMaybe, pNFCMaybe)
	for _, r := range tabLower {
		rs.r = append(rs.r, bitRange{lo: r[0], hi: r[1], step: r[3], bit: pLower})
	}
	for cp := range tabLowerMulti {
		rs.r = append(rs.r, bitRange{lo: cp, hi: cp, step: 1, bit: pLower})
	}
	rs.sort()
	p.flags = buildTable16(0x110000>>8, rs.fill)
	p.htmlName = make(map[string]string, len(tabHTML5))
	for _, e := range tabHTML5 {
		p.htmlName[e[0]] = e[1]
	}
	p.htmlUp = make(map[string]string, len(tabHTMLUpper))
	for _, e := range tabHTMLUpper {
		p.htmlUp[e[0]] = e[1]
	}
	p.width = make(map[rune]string, len(tabWidth))
	for _, e := range tabWidth {
		p.width[e.r] = e.s
	}
	mt := getMoji()
	p.needBMP = buildTable16(0x10000>>8, func(base rune, b *[256]uint16) {
		for i := range b {
			b[i] = uint16(computeNeeds(p, mt, base+rune(i)))
		}
	})
	p.canon = make(map[rune][2]rune, len(tabCanon)/3)
	p.compose = make(map[uint64]rune, len(tabCanon)/3)
	noComp := make(map[rune]bool, len(tabNoCompose))
	for _, r := range tabNoCompose {
		noComp[r] = true
	}
	for i := 0; i+2 < len(tabCanon); i += 3 {
		cp, a, b := tabCanon[i], tabCanon[i+1], tabCanon[i+2]
		p.canon[cp] = [2]rune{a, b}
		if b != 0 && !noComp[cp] {
			p.compose[uint64(a)<<32|uint64(b)] = cp
		}
	}
	return p
}

// widthPair is an entry of tabWidth.
type widthPair struct {
	r rune
	s string
}

// flag returns the property bits of r (0 for values outside Unicode).
func (p *unicodeProps) flag(r rune) uint16 {
	if r < 0 || r >= 0x110000 {
		return 0
	}
	return p.flags.get(r)
}

// ccc returns the canonical combining class of r.
func ccc(r rune) uint8 {
	if r < 0x300 {
		return 0
	}
	i := sort.Search(len(tabCCC), func(i int) bool { return tabCCC[i][1] >= r })
	if i < len(tabCCC) && tabCCC[i][0] <= r {
		return uint8(tabCCC[i][2])
	}
	return 0
}

// lowerRune returns the single-code-point str.lower() mapping of r, or ok =
// false when the mapping is longer (see tabLowerMulti).
func lowerRune(r rune) (rune, bool) {
	if _, multi := tabLowerMulti[r]; multi {
		return 0, false
	}
	i := sort.Search(len(tabLower), func(i int) bool { return tabLower[i][1] >= r })
	if i < len(tabLower) {
		e := tabLower[i]
		if e[0] <= r && (r-e[0])%e[3] == 0 {
			return r + e[2], true
		}
	}
	return r, true
}
