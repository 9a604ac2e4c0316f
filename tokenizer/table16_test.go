package tokenizer

import "testing"

// TestPropsTables checks the two-level tables against a flat table built
// the plain way, code point by code point, over all of Unicode.
func TestPropsTables(t *testing.T) {
	flat := make([]uint16, 0x110000)
	set := func(tab []uint32, bit uint16) {
		for i := 0; i+1 < len(tab); i += 2 {
			for cp := tab[i]; cp <= tab[i+1]; cp++ {
				flat[cp] |= bit
			}
		}
	}
	set(tabTokLetter, pTokLetter)
	set(tabTokNumber, pTokNumber)
	set(tabTokSkip, pTokSkip)
	set(tabPySpace, pPySpace)
	set(tabRxSpace, pRxSpace)
	set(tabPyWord, pPyWord)
	set(tabPyDigit, pPyDigit)
	set(tabCaseIgnorable, pCaseIgnorable)
	set(tabCased, pCased)
	set(tabNFCMaybe, pNFCMaybe)
	for _, r := range tabLower {
		for cp := r[0]; cp <= r[1]; cp += r[3] {
			flat[cp] |= pLower
		}
	}
	for cp := range tabLowerMulti {
		flat[cp] |= pLower
	}
	p := getProps()
	mt := getMoji()
	for r := rune(-2); r < 0x110002; r++ {
		want := uint16(0)
		if r >= 0 && r < 0x110000 {
			want = flat[r]
		}
		if got := p.flag(r); got != want {
			t.Fatalf("flag(%U) = %#x, want %#x", r, got, want)
		}
		if r >= 0 && r < 0x10000 {
			if got, want := runeNeeds(p, r), computeNeeds(p, mt, r); got != want {
				t.Fatalf("runeNeeds(%U) = %#x, want %#x", r, got, want)
			}
		}
	}
	if n := len(p.flags.blk) >> 8; n >= len(p.flags.idx)/4 {
		t.Errorf("%d distinct blocks of %d: the table is hardly smaller than a flat one", n, len(p.flags.idx))
	}
	t.Logf("flags: %d distinct blocks of %d; needs: %d of %d", len(p.flags.blk)>>8, len(p.flags.idx), len(p.needBMP.blk)>>8, len(p.needBMP.idx))
}

func TestBuildTable16(t *testing.T) {
	var rs rangeSet
	rs.r = []bitRange{
		{lo: 0x100, hi: 0x3ff, step: 1, bit: 1},   // whole blocks: shared
		{lo: 0x2fe, hi: 0x402, step: 2, bit: 2},   // a step across blocks
		{lo: 0x50, hi: 0x50, step: 1, bit: 4},     // one point
		{lo: 0x10, hi: 0x500, step: 0x7f, bit: 8}, // a long step
	}
	rs.sort()
	tab := buildTable16(8, rs.fill)
	for r := rune(0); r < 0x800; r++ {
		var want uint16
		for _, x := range rs.r {
			if r >= x.lo && r <= x.hi && (r-x.lo)%x.step == 0 {
				want |= x.bit
			}
		}
		if got := tab.get(r); got != want {
			t.Fatalf("get(%#x) = %d, want %d", r, got, want)
		}
	}
}
