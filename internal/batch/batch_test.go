package batch

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// double is a run function that records batch sizes.
type recorder struct {
	mu    sync.Mutex
	sizes []int
	gate  chan struct{} // when set, each run waits for a value
}

func (r *recorder) run(in []int) ([]int, error) {
	if r.gate != nil {
		<-r.gate
	}
	r.mu.Lock()
	r.sizes = append(r.sizes, len(in))
	r.mu.Unlock()
	out := make([]int, len(in))
	for i, v := range in {
		out[i] = 2 * v
	}
	return out, nil
}

func (r *recorder) batches() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.sizes...)
}

func TestBatchesFormAcrossCallers(t *testing.T) {
	for _, tc := range []struct {
		name      string
		maxBatch  int
		callers   int
		perCaller int
	}{
		{"singles", 4, 10, 1},
		{"pairs", 4, 8, 2},
		{"larger than a batch", 3, 3, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{gate: make(chan struct{})}
			b := New(r.run, Options[int]{MaxBatch: tc.maxBatch, MaxQueue: 1000})
			var wg sync.WaitGroup
			for c := 0; c < tc.callers; c++ {
				wg.Add(1)
				go func(c int) {
					defer wg.Done()
					in := make([]int, tc.perCaller)
					for i := range in {
						in[i] = c*100 + i
					}
					out, _, err := b.Submit(context.Background(), in)
					if err != nil {
						t.Error(err)
						return
					}
					for i := range in {
						if out[i] != 2*in[i] {
							t.Errorf("caller %d item %d: got %d, want %d", c, i, out[i], 2*in[i])
						}
					}
				}(c)
			}
			// Let everything queue behind the first (gated) batch.
			waitFor(t, func() bool { return b.Len() >= tc.callers*tc.perCaller-tc.maxBatch })
			close(r.gate)
			wg.Wait()
			total := 0
			for _, s := range r.batches() {
				if s > tc.maxBatch {
					t.Errorf("batch of %d exceeds %d", s, tc.maxBatch)
				}
				total += s
			}
			if total != tc.callers*tc.perCaller {
				t.Errorf("ran %d items, want %d", total, tc.callers*tc.perCaller)
			}
			if got := r.batches(); len(got) > 1 && got[1] != tc.maxBatch {
				t.Errorf("second batch has %d items, want a full %d (batches %v)", got[1], tc.maxBatch, got)
			}
			if err := b.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestMaxDelay(t *testing.T) {
	r := &recorder{}
	b := New(r.run, Options[int]{MaxBatch: 8, MaxDelay: 50 * time.Millisecond})
	defer b.Close(context.Background())
	start := time.Now()
	_, tm, err := b.Submit(context.Background(), []int{1})
	if err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < 45*time.Millisecond || tm.Queue < 45*time.Millisecond {
		t.Errorf("a lone item ran after %v (queue %v), want about the 50ms delay", waited, tm.Queue)
	}
	// A full batch does not wait.
	start = time.Now()
	if _, _, err := b.Submit(context.Background(), make([]int, 8)); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited > 40*time.Millisecond {
		t.Errorf("a full batch waited %v", waited)
	}
}

func TestQueueFull(t *testing.T) {
	r := &recorder{gate: make(chan struct{})}
	b := New(r.run, Options[int]{MaxBatch: 2, MaxQueue: 3})
	results := make(chan error, 10)
	go func() { _, _, err := b.Submit(context.Background(), []int{1, 2}); results <- err }() // running, gated
	waitFor(t, func() bool { return b.Len() == 0 && len(r.batches()) == 0 })
	time.Sleep(10 * time.Millisecond)
	go func() { _, _, err := b.Submit(context.Background(), []int{3, 4, 5}); results <- err }() // fills the queue
	waitFor(t, func() bool { return b.Len() == 3 })
	if _, _, err := b.Submit(context.Background(), []int{6}); !errors.Is(err, ErrQueueFull) {
		t.Errorf("submit into a full queue: %v, want ErrQueueFull", err)
	}
	close(r.gate)
	for i := 0; i < 2; i++ {
		if err := <-results; err != nil {
			t.Error(err)
		}
	}
	b.Close(context.Background())
}

func TestCancelledItemsAreDropped(t *testing.T) {
	var ran atomic.Int64
	gate := make(chan struct{})
	b := New(func(in []int) ([]int, error) {
		<-gate
		ran.Add(int64(len(in)))
		return in, nil
	}, Options[int]{MaxBatch: 1, MaxQueue: 10})
	first := make(chan error, 1)
	go func() { _, _, err := b.Submit(context.Background(), []int{1}); first <- err }()
	waitFor(t, func() bool { return b.Len() == 0 })
	time.Sleep(10 * time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	gone := make(chan error, 1)
	go func() { _, _, err := b.Submit(ctx, []int{2, 3, 4}); gone <- err }()
	waitFor(t, func() bool { return b.Len() == 3 })
	cancel()
	if err := <-gone; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled submit: %v", err)
	}
	close(gate)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Submit(context.Background(), []int{5}); err != nil {
		t.Fatal(err)
	}
	b.Close(context.Background())
	if got := ran.Load(); got != 2 {
		t.Errorf("the model ran %d items, want 2 (the cancelled caller's 3 dropped)", got)
	}
}

func TestRunErrorAndPanic(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name string
		run  RunFunc[int, int]
		want string
	}{
		{"error", func([]int) ([]int, error) { return nil, boom }, "boom"},
		{"panic", func([]int) ([]int, error) { panic("oops") }, "batch: run panicked: oops"},
		{"short", func([]int) ([]int, error) { return nil, nil }, "batch: run returned 0 outputs for 2 inputs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := New(tc.run, Options[int]{MaxBatch: 4})
			defer b.Close(context.Background())
			_, _, err := b.Submit(context.Background(), []int{1, 2})
			if err == nil || err.Error() != tc.want {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestCloseDrainsThenRefuses(t *testing.T) {
	r := &recorder{gate: make(chan struct{})}
	b := New(r.run, Options[int]{MaxBatch: 2, MaxQueue: 100})
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if out, _, err := b.Submit(context.Background(), []int{i}); err != nil || out[0] != 2*i {
				failed.Add(1)
			}
		}(i)
	}
	waitFor(t, func() bool { return b.Len() >= 8 })
	closed := make(chan error)
	go func() { closed <- b.Close(context.Background()) }()
	waitFor(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		_, _, err := b.Submit(ctx, []int{1})
		return errors.Is(err, ErrClosed)
	})
	close(r.gate)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Errorf("%d accepted items failed during the drain", failed.Load())
	}
}

func TestCloseDeadlineFailsQueued(t *testing.T) {
	gate := make(chan struct{})
	b := New(func(in []int) ([]int, error) { <-gate; return in, nil }, Options[int]{MaxBatch: 1, MaxQueue: 10})
	errs := make(chan error, 3)
	for i := 0; i < 3; i++ {
		go func() { _, _, err := b.Submit(context.Background(), []int{i}); errs <- err }()
	}
	waitFor(t, func() bool { return b.Len() == 2 })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	go func() { time.Sleep(50 * time.Millisecond); close(gate) }()
	if err := b.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close: %v", err)
	}
	var ok, closedErrs int
	for i := 0; i < 3; i++ {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.Is(err, ErrClosed):
			closedErrs++
		default:
			t.Error(err)
		}
	}
	if ok != 1 || closedErrs != 2 {
		t.Errorf("%d answered, %d closed; want 1 and 2", ok, closedErrs)
	}
}

// TestSlots: items with the same slot never share a batch; the later one
// waits for the next, keeping its place in the queue.
func TestSlots(t *testing.T) {
	var mu sync.Mutex
	var batches [][]int
	gate := make(chan struct{})
	b := New(func(in []int) ([]int, error) {
		<-gate
		mu.Lock()
		batches = append(batches, append([]int(nil), in...))
		mu.Unlock()
		return in, nil
	}, Options[int]{MaxBatch: 4, MaxQueue: 100, Slot: func(v int) int { return v % 4 }})
	var wg sync.WaitGroup
	submit := func(v int) {
		defer wg.Done()
		if out, _, err := b.Submit(context.Background(), []int{v}); err != nil || out[0] != v {
			t.Errorf("item %d: %v %v", v, out, err)
		}
	}
	wg.Add(1)
	go submit(100) // runs first, alone, held by the gate
	waitFor(t, func() bool { return b.Len() == 0 })
	time.Sleep(10 * time.Millisecond)
	for _, v := range []int{1, 5, 2, 9, 3, 0} { // slots 1 1 2 1 3 0
		wg.Add(1)
		go submit(v)
		time.Sleep(5 * time.Millisecond) // keep the submission order

	}
	waitFor(t, func() bool { return b.Len() == 6 })
	close(gate)
	wg.Wait()
	b.Close(context.Background())
	want := [][]int{{100}, {1, 2, 3, 0}, {5}, {9}}
	if len(batches) != len(want) {
		t.Fatalf("batches %v, want %v", batches, want)
	}
	for i := range want {
		if len(batches[i]) != len(want[i]) {
			t.Fatalf("batches %v, want %v", batches, want)
		}
		for j := range want[i] {
			if batches[i][j] != want[i][j] {
				t.Fatalf("batches %v, want %v", batches, want)
			}
		}
	}
}
