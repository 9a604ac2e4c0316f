// Package batch gathers items submitted by concurrent callers into batches
// for one worker function: at most MaxBatch items per call, waiting at most
// MaxDelay for a batch to fill, with a bounded queue. Items of a caller
// whose context ends before their batch is formed are dropped, never run.
package batch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrQueueFull is returned by Submit when the queue has no room for the
// items; the caller should retry later.
var ErrQueueFull = errors.New("batch: queue full")

// ErrClosed is returned by Submit after Close, and to callers whose items
// were still queued when Close gave up waiting.
var ErrClosed = errors.New("batch: closed")

// Options configure a Batcher.
type Options[In any] struct {
	// MaxBatch is the most items passed to one call of the run function
	// (values below 1 mean 1).
	MaxBatch int
	// MaxDelay is how long the oldest queued item may wait for a batch to
	// fill before a smaller batch runs; 0 runs as soon as the worker is
	// free.
	MaxDelay time.Duration
	// MaxQueue bounds the items waiting (not yet running); values below 1
	// mean MaxBatch.
	MaxQueue int
	// Slot, when set, gives each item a fixed row in [0, MaxBatch) of the
	// model call: a batch never holds two items with the same slot (the
	// later one waits for the next batch). Libraries such as BLAS can give
	// a row different last bits depending on its position in the batch;
	// with a slot derived from the item's content, and a run function that
	// places each item at its slot of a fixed-size call, an item's output
	// no longer depends on what else is queued.
	Slot func(In) int
	// OnBatch, when set, is called after each run with the batch size and
	// how long the run took.
	OnBatch func(n int, took time.Duration)
	// OnWait, when set, is called for each item taken into a batch with how
	// long it waited in the queue.
	OnWait func(wait time.Duration)
}

// Timing is how long one Submit's items waited and ran.
type Timing struct {
	Queue     time.Duration // from Submit until the last of its batches started
	Inference time.Duration // the run time of the batches that held its items, summed
}

// RunFunc computes one output per input. It is called by one goroutine at
// a time. An error fails every caller in the batch.
type RunFunc[In, Out any] func(in []In) ([]Out, error)

// Batcher batches the items of concurrent Submit calls. It is safe for
// concurrent use.
type Batcher[In, Out any] struct {
	run  RunFunc[In, Out]
	opts Options[In]

	mu     sync.Mutex
	queue  []*entry[In, Out]
	closed bool
	wake   chan struct{}
	done   chan struct{}
}

type request[Out any] struct {
	ctx       context.Context
	outs      []Out
	remaining int
	err       error
	start     time.Time
	timing    Timing
	done      chan struct{}
	finished  bool
}

type entry[In, Out any] struct {
	in  In
	idx int
	req *request[Out]
}

// New starts a Batcher calling run.
func New[In, Out any](run RunFunc[In, Out], opts Options[In]) *Batcher[In, Out] {
	if opts.MaxBatch < 1 {
		opts.MaxBatch = 1
	}
	if opts.MaxQueue < 1 {
		opts.MaxQueue = opts.MaxBatch
	}
	b := &Batcher[In, Out]{run: run, opts: opts, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go b.loop()
	return b
}

// Len is the number of items waiting in the queue.
func (b *Batcher[In, Out]) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue)
}

// Submit queues the items and waits for their outputs, in order. It
// returns ErrQueueFull at once when the queue lacks room for all of them,
// and ctx's error when ctx ends first (items not yet in a batch are then
// dropped).
func (b *Batcher[In, Out]) Submit(ctx context.Context, ins []In) ([]Out, Timing, error) {
	if len(ins) == 0 {
		return nil, Timing{}, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, Timing{}, err
	}
	req := &request[Out]{ctx: ctx, outs: make([]Out, len(ins)), remaining: len(ins), start: time.Now(), done: make(chan struct{})}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, Timing{}, ErrClosed
	}
	if len(b.queue)+len(ins) > b.opts.MaxQueue {
		b.mu.Unlock()
		return nil, Timing{}, fmt.Errorf("%w: %d items waiting, room for %d", ErrQueueFull, len(b.queue), b.opts.MaxQueue)
	}
	for i, in := range ins {
		b.queue = append(b.queue, &entry[In, Out]{in: in, idx: i, req: req})
	}
	b.mu.Unlock()
	b.signal()
	select {
	case <-req.done:
	case <-ctx.Done():
		b.mu.Lock()
		if !req.finished {
			b.finish(req, ctx.Err())
		}
		b.mu.Unlock()
		<-req.done
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if req.err != nil {
		return nil, req.timing, req.err
	}
	return req.outs, req.timing, nil
}

func (b *Batcher[In, Out]) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// finish completes req with err (nil: success). b.mu must be held.
func (b *Batcher[In, Out]) finish(req *request[Out], err error) {
	if req.finished {
		return
	}
	req.finished = true
	req.err = err
	close(req.done)
}

// Close stops accepting items and waits until the queued ones have run.
// When ctx ends first, the items still queued fail with ErrClosed and
// Close returns ctx's error once the running batch is over.
func (b *Batcher[In, Out]) Close(ctx context.Context) error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.signal()
	select {
	case <-b.done:
		return nil
	case <-ctx.Done():
	}
	b.mu.Lock()
	for _, e := range b.queue {
		b.finish(e.req, ErrClosed)
	}
	b.queue = nil
	b.mu.Unlock()
	b.signal()
	<-b.done
	return ctx.Err()
}

// take removes up to MaxBatch live items from the queue, finishing the
// requests whose context has ended. b.mu must be held.
func (b *Batcher[In, Out]) take() []*entry[In, Out] {
	var batch []*entry[In, Out]
	var used []bool
	if b.opts.Slot != nil {
		used = make([]bool, b.opts.MaxBatch)
	}
	kept := b.queue[:0]
	for i, e := range b.queue {
		if len(batch) == b.opts.MaxBatch {
			kept = append(kept, b.queue[i:]...)
			break
		}
		if e.req.finished {
			continue // its caller has gone (or an earlier batch failed it)
		}
		if err := e.req.ctx.Err(); err != nil {
			b.finish(e.req, err)
			continue
		}
		if used != nil {
			s := b.opts.Slot(e.in)
			if used[s] {
				kept = append(kept, e)
				continue
			}
			used[s] = true
		}
		batch = append(batch, e)
	}
	clear(b.queue[len(kept):])
	b.queue = kept
	return batch
}

func (b *Batcher[In, Out]) loop() {
	defer close(b.done)
	var timer *time.Timer
	for {
		b.mu.Lock()
		for len(b.queue) == 0 {
			if b.closed {
				b.mu.Unlock()
				return
			}
			b.mu.Unlock()
			<-b.wake
			b.mu.Lock()
		}
		// Wait for the batch to fill, at most until the oldest item has
		// waited MaxDelay.
		if d := b.opts.MaxDelay; d > 0 && !b.closed && len(b.queue) < b.opts.MaxBatch {
			deadline := b.queue[0].req.start.Add(d)
			for len(b.queue) > 0 && len(b.queue) < b.opts.MaxBatch && !b.closed {
				left := time.Until(deadline)
				if left <= 0 {
					break
				}
				b.mu.Unlock()
				if timer == nil {
					timer = time.NewTimer(left)
				} else {
					timer.Reset(left)
				}
				select {
				case <-b.wake:
					if !timer.Stop() {
						<-timer.C
					}
				case <-timer.C:
				}
				b.mu.Lock()
			}
		}
		batch := b.take()
		b.mu.Unlock()
		if len(batch) == 0 {
			continue
		}
		b.runBatch(batch)
	}
}

func (b *Batcher[In, Out]) runBatch(batch []*entry[In, Out]) {
	started := time.Now()
	ins := make([]In, len(batch))
	for i, e := range batch {
		ins[i] = e.in
		if b.opts.OnWait != nil {
			b.opts.OnWait(started.Sub(e.req.start))
		}
	}
	outs, err := b.safeRun(ins)
	took := time.Since(started)
	if err == nil && len(outs) != len(ins) {
		err = fmt.Errorf("batch: run returned %d outputs for %d inputs", len(outs), len(ins))
	}
	if b.opts.OnBatch != nil {
		b.opts.OnBatch(len(ins), took)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	counted := map[*request[Out]]bool{}
	for i, e := range batch {
		req := e.req
		if req.finished {
			continue
		}
		if !counted[req] {
			counted[req] = true
			req.timing.Queue = started.Sub(req.start)
			req.timing.Inference += took
		}
		if err != nil {
			b.finish(req, err)
			continue
		}
		req.outs[e.idx] = outs[i]
		req.remaining--
		if req.remaining == 0 {
			b.finish(req, nil)
		}
	}
}

// safeRun calls run, turning a panic into an error.
func (b *Batcher[In, Out]) safeRun(ins []In) (outs []Out, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("batch: run panicked: %v", r)
		}
	}()
	return b.run(ins)
}
