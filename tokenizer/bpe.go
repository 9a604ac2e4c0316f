package tokenizer

import (
	"hash/maphash"
	"strings"
	"sync/atomic"
)

// The BPE caches are tables of slots in buckets of cacheWays: a pre-token
// hashes to one bucket, and a new entry takes a free way or replaces one,
// so memory stays bounded whatever the input. Reads and writes take no
// lock. Short pre-tokens (the vast majority) go to a large table, longer
// ones to a small one; the longest are not cached.
const (
	cacheWays = 4
	// cacheSlots entries of at most shortTokenMax bytes.
	cacheSlots    = 1 << 16
	shortTokenMax = 64
	// longCacheSlots entries of at most longTokenMax bytes.
	longCacheSlots = 1 << 10
	longTokenMax   = 1024
)

type cacheEntry struct {
	key string
	ids []int32
}

type bpeCache struct {
	seed  maphash.Seed
	slots []atomic.Pointer[cacheEntry]
}

func (c *bpeCache) init(slots int) {
	c.seed = maphash.MakeSeed()
	c.slots = make([]atomic.Pointer[cacheEntry], slots)
}

func (c *bpeCache) bucket(key string) ([]atomic.Pointer[cacheEntry], uint64) {
	h := maphash.String(c.seed, key)
	i := h & uint64(len(c.slots)-1) &^ (cacheWays - 1)
	return c.slots[i : i+cacheWays], h
}

func (c *bpeCache) get(key string) ([]int32, bool) {
	if c.slots == nil {
		return nil, false
	}
	b, _ := c.bucket(key)
	for i := range b {
		if e := b[i].Load(); e != nil && e.key == key {
			return e.ids, true
		}
	}
	return nil, false
}

func (c *bpeCache) put(key string, ids []int32) {
	if c.slots == nil {
		return
	}
	b, h := c.bucket(key)
	e := &cacheEntry{key: key, ids: ids}
	for i := range b {
		if b[i].CompareAndSwap(nil, e) {
			return
		}
	}
	b[(h>>32)%cacheWays].Store(e)
}

// bpe returns the ids of one pre-token (a match of the pattern, as UTF-8).
// The returned slice must not be modified.
func (t *Tokenizer) bpe(tok string) []int32 {
	switch tok {
	case "<|startoftext|>":
		return sotIDs
	case "<|endoftext|>":
		return eotIDs
	}
	if len(tok) == 1 {
		return t.single[tok[0]][:]
	}
	cache := &t.cache
	if len(tok) > shortTokenMax {
		cache = &t.longCache
		if len(tok) > longTokenMax {
			return t.merge(tok)
		}
	}
	if v, ok := cache.get(tok); ok {
		return v
	}
	ids := t.merge(tok)
	// Clone: tok may point into a larger string the cache must not pin.
	cache.put(strings.Clone(tok), ids)
	return ids
}

var (
	sotIDs = []int32{SOT}
	eotIDs = []int32{EOT}
)

// heapMergeMin is the pre-token length (bytes) from which merge uses the
// O(n log n) method instead of the simple O(n²) one.
const heapMergeMin = 32

// merge runs the BPE merges on the byte symbols of tok, exactly as the
// official bpe(): repeatedly merge every occurrence, left to right, of the
// adjacent pair with the lowest rank.
func (t *Tokenizer) merge(tok string) []int32 {
	word := make([]int32, len(tok))
	for i := 0; i < len(tok); i++ {
		word[i] = t.byteID[tok[i]]
	}
	word[len(word)-1] += 256 // the last symbol carries "</w>"
	if len(word) >= heapMergeMin {
		return t.mergeHeap(word)
	}
	return t.mergeSimple(word)
}

// mergeSimple is the official algorithm, step by step.
func (t *Tokenizer) mergeSimple(word []int32) []int32 {
	for len(word) > 1 {
		best := mergeInfo{rank: -1}
		var first, second int32
		for i := 0; i+1 < len(word); i++ {
			m, ok := t.merges.get(word[i], word[i+1])
			if ok && (best.rank < 0 || m.rank < best.rank) {
				best, first, second = m, word[i], word[i+1]
			}
		}
		if best.rank < 0 {
			break
		}
		out := word[:0]
		for i := 0; i < len(word); {
			if i+1 < len(word) && word[i] == first && word[i+1] == second {
				out = append(out, best.id)
				i += 2
				continue
			}
			out = append(out, word[i])
			i++
		}
		word = out
	}
	return word
}

// mergeHeap gives the same result as mergeSimple in O(n log n): symbols
// form a linked list and candidate pairs wait in a heap ordered by (rank,
// position). All occurrences of the lowest-ranked pair are merged left to
// right before the pairs they create are considered, as in the official
// algorithm.
func (t *Tokenizer) mergeHeap(word []int32) []int32 {
	n := len(word)
	next := make([]int32, n)
	prev := make([]int32, n)
	for i := range word {
		next[i], prev[i] = int32(i+1), int32(i-1)
	}
	next[n-1] = -1
	alive := make([]bool, n)
	for i := range alive {
		alive[i] = true
	}
	var h pairHeap
	push := func(pos int32) {
		if pos < 0 || !alive[pos] || next[pos] < 0 {
			return
		}
		if m, ok := t.merges.get(word[pos], word[next[pos]]); ok {
			h.push(pairAt{rank: m.rank, pos: pos})
		}
	}
	for i := 0; i+1 < n; i++ {
		push(int32(i))
	}
	var merged []int32
	for len(h) > 0 {
		rank := h[0].rank
		merged = merged[:0]
		for len(h) > 0 && h[0].rank == rank {
			c := h.pop()
			if !alive[c.pos] || next[c.pos] < 0 {
				continue
			}
			r := next[c.pos]
			m, ok := t.merges.get(word[c.pos], word[r])
			if !ok || m.rank != rank {
				continue // stale
			}
			word[c.pos] = m.id
			alive[r] = false
			next[c.pos] = next[r]
			if next[r] >= 0 {
				prev[next[r]] = c.pos
			}
			merged = append(merged, c.pos)
		}
		for _, pos := range merged {
			if alive[pos] {
				push(prev[pos])
				push(pos)
			}
		}
	}
	out := word[:0]
	for i := int32(0); i >= 0; i = next[i] {
		out = append(out, word[i])
	}
	return out
}

// pairAt is a candidate merge: the pair starting at symbol pos.
type pairAt struct {
	rank, pos int32
}

// pairHeap is a binary min-heap of candidates by (rank, pos).
type pairHeap []pairAt

func (h pairHeap) less(i, j int) bool {
	return h[i].rank < h[j].rank || (h[i].rank == h[j].rank && h[i].pos < h[j].pos)
}

func (h *pairHeap) push(p pairAt) {
	*h = append(*h, p)
	a := *h
	for i := len(a) - 1; i > 0; {
		parent := (i - 1) / 2
		if !a.less(i, parent) {
			break
		}
		a[i], a[parent] = a[parent], a[i]
		i = parent
	}
}

func (h *pairHeap) pop() pairAt {
	a := *h
	top := a[0]
	last := len(a) - 1
	a[0] = a[last]
	a = a[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(a) && a.less(l, m) {
			m = l
		}
		if r < len(a) && a.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		a[i], a[m] = a[m], a[i]
		i = m
	}
	*h = a
	return top
}
