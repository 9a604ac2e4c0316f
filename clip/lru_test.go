package clip

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
)

func TestLRU(t *testing.T) {
	c := newLRU[int](2)
	c.add("a", 1)
	c.add("b", 2)
	if v, ok := c.get("a"); !ok || v != 1 { // a is now the most recent
		t.Fatalf("get(a) = %v, %v", v, ok)
	}
	c.add("c", 3) // evicts b
	if _, ok := c.get("b"); ok {
		t.Error("b survived past the capacity")
	}
	for k, want := range map[string]int{"a": 1, "c": 3} {
		if v, ok := c.get(k); !ok || v != want {
			t.Errorf("get(%s) = %v, %v", k, v, ok)
		}
	}
	if v := c.add("a", 10); v != 1 || c.len() != 2 {
		t.Errorf("add of a present key returned %v (len %d), want the held 1", v, c.len())
	}
	none := newLRU[int](0)
	if v := none.add("a", 1); v != 1 || none.len() != 0 {
		t.Errorf("capacity 0 kept %d entries", none.len())
	}
}

// TestClassifierCacheBounded: a model keeps at most the configured number
// of classifiers, evicting the least recently used label set.
func TestClassifierCacheBounded(t *testing.T) {
	ctx := context.Background()
	labels := func(i int) []string { return []string{fmt.Sprintf("thing %d", i), "other"} }
	m := loadGolden(t, "tiny_vit_b32")
	for i := 0; i < DefaultClassifierCache+10; i++ {
		if _, err := m.NewClassifier(ctx, labels(i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := m.classifiers.len(); n != DefaultClassifierCache {
		t.Errorf("default cache holds %d classifiers, want %d", n, DefaultClassifierCache)
	}

	m2 := loadGolden(t, "tiny_vit_b32", WithClassifierCache(2))
	c0, _ := m2.NewClassifier(ctx, labels(0))
	c1, _ := m2.NewClassifier(ctx, labels(1))
	if again, _ := m2.NewClassifier(ctx, labels(0)); again != c0 { // 0 is now the most recent
		t.Error("label set 0 was not kept")
	}
	m2.NewClassifier(ctx, labels(2)) // evicts 1
	if n := m2.classifiers.len(); n != 2 {
		t.Errorf("cache of 2 holds %d", n)
	}
	if again, _ := m2.NewClassifier(ctx, labels(1)); again == c1 {
		t.Error("label set 1 survived eviction")
	}
	if again, _ := m2.NewClassifier(ctx, labels(1)); again == nil || m2.classifiers.len() != 2 {
		t.Error("re-added label set 1 is not cached")
	}

	m3 := loadGolden(t, "tiny_vit_b32", WithClassifierCache(0))
	a, _ := m3.NewClassifier(ctx, labels(0))
	b, _ := m3.NewClassifier(ctx, labels(0))
	if a == b || m3.classifiers.len() != 0 {
		t.Error("WithClassifierCache(0) cached a classifier")
	}
	pa, _ := a.Classify(NewMatrix(1, 32))
	pb, _ := b.Classify(NewMatrix(1, 32))
	if pa[0].Probs[0] != pb[0].Probs[0] {
		t.Error("uncached classifiers differ")
	}
}

// TestClassifierCacheConcurrent: NewClassifier from many goroutines on
// overlapping label sets, with a cache smaller than the sets (run under
// -race by scripts/test.sh).
func TestClassifierCacheConcurrent(t *testing.T) {
	m := loadGolden(t, "tiny_vit_b32", WithClassifierCache(2))
	ref, err := m.NewClassifier(context.Background(), []string{"thing 0", "other"})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8*5)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				c, err := m.NewClassifier(context.Background(), []string{fmt.Sprintf("thing %d", (g+i)%4), "other"})
				if err == nil && (g+i)%4 == 0 && !slices.Equal(c.Weights().Data, ref.Weights().Data) {
					err = fmt.Errorf("label set 0 got other weights")
				}
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := m.classifiers.len(); n != 2 {
		t.Errorf("cache of 2 holds %d", n)
	}
}
