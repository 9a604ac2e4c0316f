package tokenizer

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"unsafe"
)

// The table cache: a binary copy of what New derives from a merges file
// (the merge table, the bytes of every token), read back with one file
// read and no per-entry map building. It is derived data, named after the
// merges file's sha256 and rebuilt from the merges file whenever it is
// missing or does not validate.
//
// Layout, little-endian: the 8-byte magic; the merges file's sha256; the
// counts nv (token ids), nb (token bytes) and ns (merge table slots) and
// the merge table's maxProbe, as uint32; tokOff ([nv+1]uint32); tokOK
// ([nv]byte); tokBytes ([nb]byte); zero padding to a multiple of 8; the
// merge table ([ns]uint64); then the CRC-32C of everything before it.
//
// The file is mapped into memory and, on little-endian machines, its
// arrays are used in place: loading touches no more memory than the
// tokenizer then reads.
const tableCacheMagic = "GCBPE\x00\x00\x02"

const tableCacheHeader = len(tableCacheMagic) + sha256.Size + 4*4

// checksum is the cache file's checksum, CRC-32C (its table is made on
// first use, not at start-up).
func checksum(b []byte) uint32 { return crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)) }

// tableCacheName returns the cache file name for a merges file with the
// given sha256.
func tableCacheName(sum [sha256.Size]byte) string {
	return "bpe-tables-" + hex.EncodeToString(sum[:]) + ".bin"
}

// LoadCached is Load, keeping a derived binary copy of the loaded tables
// in cacheDir, named after the merges file's sha256. When that copy is
// present and intact it is read instead of parsing the merges file (about
// twenty times faster); otherwise the merges file is parsed and the copy
// written (created atomically: a temporary file renamed into place, so
// concurrent loaders never see a partial one). Failing to write the copy
// (a read-only directory, say) is not an error. An empty cacheDir means
// no cache: LoadCached is then Load.
func LoadCached(path, cacheDir string) (*Tokenizer, error) {
	t, _, err := loadCached(path, cacheDir)
	return t, err
}

// loadCached is LoadCached; fromCache says whether the tables came from
// the cache file.
func loadCached(path, cacheDir string) (t *Tokenizer, fromCache bool, err error) {
	if cacheDir == "" {
		t, err = Load(path)
		return t, false, err
	}
	data, release, err := mapFile(path)
	if err != nil {
		return nil, false, &VocabError{Path: path, Reason: "cannot open the merges file", Err: err}
	}
	defer release()
	sum := sha256.Sum256(data)
	name := filepath.Join(cacheDir, tableCacheName(sum))
	if c, releaseCache, err := mapFile(name); err == nil {
		if t, err := decodeTables(c, sum); err == nil {
			runtime.AddCleanup(t, func(f func()) { f() }, releaseCache)
			return t, true, nil
		}
		releaseCache()
	}
	t, err = New(bytes.NewReader(data))
	if err != nil {
		var ve *VocabError
		if errors.As(err, &ve) {
			ve.Path = path
		}
		return nil, false, err
	}
	_ = writeFileAtomic(name, encodeTables(t, sum))
	return t, false, nil
}

// encodeTables returns the cache file contents for t.
func encodeTables(t *Tokenizer, sum [sha256.Size]byte) []byte {
	nv, nb, ns := len(t.tokOK), len(t.tokBytes), len(t.merges.slots)
	b := make([]byte, 0, tableCacheHeader+4*(nv+1)+nv+nb+7+8*ns+4)
	b = append(b, tableCacheMagic...)
	b = append(b, sum[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(nv))
	b = binary.LittleEndian.AppendUint32(b, uint32(nb))
	b = binary.LittleEndian.AppendUint32(b, uint32(ns))
	b = binary.LittleEndian.AppendUint32(b, t.merges.maxProbe)
	for _, o := range t.tokOff {
		b = binary.LittleEndian.AppendUint32(b, uint32(o))
	}
	b = append(b, t.tokOK...)
	b = append(b, t.tokBytes...)
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	for _, s := range t.merges.slots {
		b = binary.LittleEndian.AppendUint64(b, s)
	}
	return binary.LittleEndian.AppendUint32(b, checksum(b))
}

var errBadCache = errors.New("tokenizer: table cache does not validate")

// decodeTables rebuilds a Tokenizer from cache file contents, checking
// that they are whole (size, checksum) and for the merges file of sha256
// sum, and that token offsets are in range, so that a damaged file is
// rejected rather than giving wrong ids or a panic (merge table lookups are
// bounded by maxProbe whatever the slots hold). On little-endian machines
// the Tokenizer's arrays are c itself, which must then stay unmodified and
// mapped as long as the Tokenizer lives.
func decodeTables(c []byte, sum [sha256.Size]byte) (*Tokenizer, error) {
	if len(c) < tableCacheHeader+4 || string(c[:len(tableCacheMagic)]) != tableCacheMagic ||
		!bytes.Equal(c[len(tableCacheMagic):len(tableCacheMagic)+sha256.Size], sum[:]) {
		return nil, errBadCache
	}
	body := c[:len(c)-4]
	if checksum(body) != binary.LittleEndian.Uint32(c[len(c)-4:]) {
		return nil, errBadCache
	}
	h := body[len(tableCacheMagic)+sha256.Size:]
	nv := int(binary.LittleEndian.Uint32(h))
	nb := int(binary.LittleEndian.Uint32(h[4:]))
	ns := int(binary.LittleEndian.Uint32(h[8:]))
	maxProbe := binary.LittleEndian.Uint32(h[12:])
	if nv < 512 || nv > 1<<16 || nb > 1<<26 || ns < 16 || ns > 1<<24 || ns&(ns-1) != 0 || int(maxProbe) >= ns {
		return nil, errBadCache
	}
	pos := tableCacheHeader
	end := pos + 4*(nv+1) + nv + nb
	end += (8 - end%8) % 8
	if len(body) != end+8*ns {
		return nil, errBadCache
	}
	okAt := pos + 4*(nv+1)
	bytesAt := okAt + nv
	t := &Tokenizer{
		tokOff:   viewInt32(body[pos:okAt]),
		tokOK:    body[okAt:bytesAt:bytesAt],
		tokBytes: body[bytesAt : bytesAt+nb : bytesAt+nb],
	}
	prev := int32(0)
	for _, o := range t.tokOff {
		if o < prev || int(o) > nb {
			return nil, errBadCache
		}
		prev = o
	}
	if t.tokOff[0] != 0 || int(t.tokOff[nv]) != nb {
		return nil, errBadCache
	}
	t.merges = mergeTable{slots: viewUint64(body[end:]), shift: 32, maxProbe: maxProbe}
	for s := ns; s > 1; s >>= 1 {
		t.merges.shift--
	}
	t.initFixed()
	return t, nil
}

// littleEndian tells whether the machine stores integers as the cache file
// does, so that its arrays can be used in place.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// viewInt32 returns b (little-endian int32s) as a []int32: b itself when
// the machine allows, else a copy.
func viewInt32(b []byte) []int32 {
	n := len(b) / 4
	if littleEndian && n > 0 && uintptr(unsafe.Pointer(&b[0]))%4 == 0 {
		return unsafe.Slice((*int32)(unsafe.Pointer(&b[0])), n)
	}
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// viewUint64 is viewInt32 for uint64s.
func viewUint64(b []byte) []uint64 {
	n := len(b) / 8
	if littleEndian && n > 0 && uintptr(unsafe.Pointer(&b[0]))%8 == 0 {
		return unsafe.Slice((*uint64)(unsafe.Pointer(&b[0])), n)
	}
	out := make([]uint64, n)
	for i := range out {
		out[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return out
}

// writeFileAtomic writes data to name through a temporary file in the same
// directory renamed into place, creating the directory if needed.
func writeFileAtomic(name string, data []byte) error {
	dir := filepath.Dir(name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(name)+"-*")
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(f.Name(), name)
	}
	if werr != nil {
		os.Remove(f.Name())
	}
	return werr
}
