package tokenizer

import "slices"

// table16 is a two-level table of a uint16 per code point: blocks of 256
// values, each stored once however many ranges of code points share it.
// It replaces flat per-code-point slices (2.2 MB for all of Unicode), which
// a short-lived process pays for in page faults when it builds them.
type table16 struct {
	idx []uint16 // block number of each 256 code points
	blk []uint16 // the distinct blocks, back to back
}

// get returns the value of r, which must be below 256*len(t.idx).
func (t *table16) get(r rune) uint16 {
	return t.blk[int(t.idx[r>>8])<<8|int(r&0xff)]
}

// buildTable16 builds a table of blocks*256 code points; fill writes the
// values of the block starting at base into b (all zero on entry).
func buildTable16(blocks int, fill func(base rune, b *[256]uint16)) table16 {
	// Room for up to 256 distinct blocks without regrowing; pages never
	// written are never touched.
	t := table16{idx: make([]uint16, blocks), blk: make([]uint16, 0, 256*min(blocks, 256))}
	byHash := make(map[uint64]uint16)
	var b [256]uint16
	for k := range blocks {
		b = [256]uint16{}
		fill(rune(k)<<8, &b)
		if k > 0 { // runs of equal blocks are the common case
			if p := t.idx[k-1]; [256]uint16(t.blk[int(p)<<8:int(p+1)<<8]) == b {
				t.idx[k] = p
				continue
			}
		}
		h := uint64(14695981039346656037)
		for _, v := range b {
			h = (h ^ uint64(v)) * 1099511628211
		}
		if n, ok := byHash[h]; ok && [256]uint16(t.blk[int(n)<<8:int(n+1)<<8]) == b {
			t.idx[k] = n
			continue
		}
		n := uint16(len(t.blk) >> 8)
		t.blk = append(t.blk, b[:]...)
		byHash[h] = n
		t.idx[k] = n
	}
	t.blk = t.blk[:len(t.blk):len(t.blk)]
	return t
}

// rangeSet is a set of code point ranges [lo, hi] (step 1, or every step
// from lo) with the bits they carry, swept block by block.
type rangeSet struct {
	r []bitRange
	// next is the first range not yet active; active holds the ranges
	// that may reach the current block.
	next   int
	active []bitRange
}

type bitRange struct {
	lo, hi, step rune
	bit          uint16
}

// addPairs adds the ranges of tab (lo, hi pairs) with bit.
func (s *rangeSet) addPairs(tab []uint32, bit uint16) {
	for i := 0; i+1 < len(tab); i += 2 {
		s.r = append(s.r, bitRange{lo: rune(tab[i]), hi: rune(tab[i+1]), step: 1, bit: bit})
	}
}

// sort orders the ranges by start; call it once, after the adds.
func (s *rangeSet) sort() {
	slices.SortFunc(s.r, func(a, b bitRange) int { return int(a.lo - b.lo) })
}

// fill ORs the bits of the ranges into the block starting at base; blocks
// must be filled in increasing order.
func (s *rangeSet) fill(base rune, b *[256]uint16) {
	end := base + 255
	for s.next < len(s.r) && s.r[s.next].lo <= end {
		s.active = append(s.active, s.r[s.next])
		s.next++
	}
	keep := s.active[:0]
	for _, r := range s.active {
		cp := r.lo
		if cp < base {
			cp += (base - cp + r.step - 1) / r.step * r.step
		}
		for ; cp <= r.hi && cp <= end; cp += r.step {
			b[cp-base] |= r.bit
		}
		if r.hi > end {
			keep = append(keep, r)
		}
	}
	s.active = keep
}
