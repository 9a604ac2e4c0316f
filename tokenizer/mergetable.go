package tokenizer

// mergeTable maps a pair of token ids to its merge rank and the merged id:
// an open-addressing hash table (linear probing) stored as one flat slice,
// so that it can be written to and read back from the table cache as is.
//
// A slot holds the key (first id << 16 | second id) in its low 32 bits,
// the rank in bits 32-47 and the merged id in bits 48-63; an empty slot has
// the key emptyKey. Ids and ranks are below 65536 (VocabSize, numMerges).
type mergeTable struct {
	slots []uint64
	shift uint32 // 32 - log2(len(slots))
	// maxProbe bounds the slots a lookup visits past the first, so that
	// no table (a damaged cache file's included) can make one loop.
	maxProbe uint32
}

// emptyKey marks a free slot: no pair of valid ids has it.
const emptyKey = 0xffffffff

// mergeSlotsFor returns the table size for n entries: a power of two at
// least 2.5 n, so that probes (most lookups miss) stay short.
func mergeSlotsFor(n int) int {
	s := 1 << 4
	for s < n*5/2 {
		s <<= 1
	}
	return s
}

// newMergeTable returns an empty table of the given size (a power of two).
func newMergeTable(size int) mergeTable {
	m := mergeTable{slots: make([]uint64, size), shift: 32}
	for s := size; s > 1; s >>= 1 {
		m.shift--
	}
	for i := range m.slots {
		m.slots[i] = emptyKey
	}
	return m
}

func mergeKey(a, b int32) (uint32, bool) {
	if uint32(a) >= 1<<16 || uint32(b) >= 1<<16 {
		return 0, false
	}
	return uint32(a)<<16 | uint32(b), true
}

func (m *mergeTable) home(k uint32) uint32 { return (k * 0x9e3779b1) >> m.shift }

// put sets the entry of (a, b), replacing an earlier one (Python's dict:
// later duplicates win). The table must keep a free slot.
func (m *mergeTable) put(a, b int32, info mergeInfo) {
	k, ok := mergeKey(a, b)
	if !ok {
		return
	}
	v := uint64(k) | uint64(uint16(info.rank))<<32 | uint64(uint16(info.id))<<48
	mask := uint32(len(m.slots) - 1)
	for i, n := m.home(k), uint32(0); ; i, n = (i+1)&mask, n+1 {
		if s := uint32(m.slots[i]); s == k || s == emptyKey {
			m.slots[i] = v
			m.maxProbe = max(m.maxProbe, n)
			return
		}
	}
}

// get returns the entry of (a, b).
func (m *mergeTable) get(a, b int32) (mergeInfo, bool) {
	k, ok := mergeKey(a, b)
	if !ok || len(m.slots) == 0 {
		return mergeInfo{}, false
	}
	mask := uint32(len(m.slots) - 1)
	for i, n := m.home(k), m.maxProbe; ; i, n = (i+1)&mask, n-1 {
		s := m.slots[i]
		switch uint32(s) {
		case k:
			return mergeInfo{rank: int32(uint16(s >> 32)), id: int32(uint16(s >> 48))}, true
		case emptyKey:
			return mergeInfo{}, false
		}
		if n == 0 {
			return mergeInfo{}, false
		}
	}
}
