package tokenizer

// NFC normalization with the reference's Unicode 14 data (Go's x/text norm
// package carries newer tables and inserts U+034F into very long runs of
// combining marks, which Python does not).

const (
	hangulSBase  = 0xac00
	hangulLBase  = 0x1100
	hangulVBase  = 0x1161
	hangulTBase  = 0x11a7
	hangulLCount = 19
	hangulVCount = 21
	hangulTCount = 28
	hangulNCount = hangulVCount * hangulTCount
	hangulSCount = hangulLCount * hangulNCount
)

// nfc returns the NFC form of t (t itself when it is already known to be
// unchanged).
func nfc(t []rune) []rune {
	p := getProps()
	need := false
	for _, r := range t {
		if r >= 0x300 && p.flag(r)&pNFCMaybe != 0 {
			need = true
			break
		}
	}
	if !need {
		return t
	}
	// Full canonical decomposition.
	d := make([]rune, 0, len(t)+8)
	for _, r := range t {
		d = decompose(p, d, r)
	}
	// Canonical ordering: stable sort of each run of non-starters by class.
	cc := make([]uint8, len(d))
	for i, r := range d {
		cc[i] = ccc(r)
	}
	for i := 0; i < len(d); {
		if cc[i] == 0 {
			i++
			continue
		}
		j := i + 1
		for j < len(d) && cc[j] != 0 {
			j++
		}
		if j-i > 1 {
			sortMarks(d[i:j], cc[i:j])
		}
		i = j
	}
	// Canonical composition.
	out := d[:0]
	starter := -1
	lastCCC := uint8(0)
	for i, r := range d {
		c := cc[i]
		if starter >= 0 {
			adjacent := starter == len(out)-1
			if adjacent || (lastCCC != 0 && lastCCC < c) {
				if comp, ok := composePair(p, out[starter], r); ok {
					out[starter] = comp
					continue
				}
			}
		}
		if c == 0 {
			starter = len(out)
		}
		lastCCC = c
		out = append(out, r)
	}
	return out
}

// sortMarks sorts a run of combining marks stably by combining class.
func sortMarks(rs []rune, cc []uint8) {
	if len(rs) <= 16 {
		for i := 1; i < len(rs); i++ {
			for j := i; j > 0 && cc[j-1] > cc[j]; j-- {
				rs[j], rs[j-1] = rs[j-1], rs[j]
				cc[j], cc[j-1] = cc[j-1], cc[j]
			}
		}
		return
	}
	// Counting sort by class: stable and linear.
	var count [257]int
	for _, c := range cc {
		count[int(c)+1]++
	}
	for k := 1; k < len(count); k++ {
		count[k] += count[k-1]
	}
	tmpR := make([]rune, len(rs))
	tmpC := make([]uint8, len(cc))
	for i, c := range cc {
		tmpR[count[c]] = rs[i]
		tmpC[count[c]] = c
		count[c]++
	}
	copy(rs, tmpR)
	copy(cc, tmpC)
}

func decompose(p *unicodeProps, d []rune, r rune) []rune {
	if r >= hangulSBase && r < hangulSBase+hangulSCount {
		s := r - hangulSBase
		d = append(d, hangulLBase+s/hangulNCount, hangulVBase+(s%hangulNCount)/hangulTCount)
		if t := s % hangulTCount; t != 0 {
			d = append(d, hangulTBase+t)
		}
		return d
	}
	if r < 0xc0 {
		return append(d, r)
	}
	pair, ok := p.canon[r]
	if !ok {
		return append(d, r)
	}
	d = decompose(p, d, pair[0])
	if pair[1] != 0 {
		d = decompose(p, d, pair[1])
	}
	return d
}

func composePair(p *unicodeProps, a, b rune) (rune, bool) {
	if a >= hangulLBase && a < hangulLBase+hangulLCount && b >= hangulVBase && b < hangulVBase+hangulVCount {
		return hangulSBase + ((a-hangulLBase)*hangulVCount+(b-hangulVBase))*hangulTCount, true
	}
	if a >= hangulSBase && a < hangulSBase+hangulSCount && (a-hangulSBase)%hangulTCount == 0 &&
		b > hangulTBase && b < hangulTBase+hangulTCount {
		return a + (b - hangulTBase), true
	}
	c, ok := p.compose[uint64(a)<<32|uint64(b)]
	return c, ok
}
