package serve

import (
	"bufio"
	"container/list"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/npy"
)

// Index is a set of image features with their files: the output of
// "clip embed --images-dir" (OUT.npy and OUT.jsonl), searched by /v1/rank
// without candidates and by the page.
type Index struct {
	Model    string      // the served model name the features belong to
	Features clip.Matrix // [N, D]
	Files    []string    // file of each row, as the index names it
	Paths    []string    // where each row's file is on this machine
}

// LoadIndex reads an embed --images-dir output (path.npy and its .jsonl
// index) for the served model named model.
func LoadIndex(path, model string) (*Index, error) {
	arr, err := npy.ReadFile(path)
	if err != nil {
		return nil, err
	}
	data, ok := arr.Data.([]float32)
	if !ok || len(arr.Shape) != 2 {
		return nil, fmt.Errorf("serve: %s: want float32 [N,D] features, got %s %v", path, arr.DType, arr.Shape)
	}
	ix := &Index{Model: model, Features: clip.Matrix{Rows: arr.Shape[0], Cols: arr.Shape[1], Data: data}, Files: make([]string, arr.Shape[0]), Paths: make([]string, arr.Shape[0])}
	jl := strings.TrimSuffix(path, ".npy") + ".jsonl"
	f, err := os.Open(jl)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	n := 0
	for sc.Scan() {
		var e clip.IndexEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Row < 0 || e.Row >= len(ix.Files) {
			return nil, fmt.Errorf("serve: %s line %d: not an index entry for %d rows", jl, n+1, len(ix.Files))
		}
		ix.Files[e.Row] = e.File
		ix.Paths[e.Row] = e.Path()
		n++
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if n != len(ix.Files) {
		return nil, fmt.Errorf("serve: %s has %d lines for %d rows in %s", jl, n, len(ix.Files), path)
	}
	return ix, nil
}

// lru is a small least-recently-used cache of class embeddings.
type lru struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *lruEntry, most recent first
	byKey map[string]*list.Element
}

type lruEntry struct {
	key string
	val clip.Matrix
}

func newLRU(n int) *lru { return &lru{max: n, order: list.New(), byKey: map[string]*list.Element{}} }

func (c *lru) get(key string) (clip.Matrix, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*lruEntry).val, true
	}
	return clip.Matrix{}, false
}

func (c *lru) put(key string, v clip.Matrix) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		e.Value.(*lruEntry).val = v
		c.order.MoveToFront(e)
		return
	}
	c.byKey[key] = c.order.PushFront(&lruEntry{key, v})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(*lruEntry).key)
	}
}
