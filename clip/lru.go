package clip

import (
	"container/list"
	"sync"
)

// lru is a small, bounded, least-recently-used cache safe for concurrent
// use. A capacity of 0 or less keeps nothing.
type lru[V any] struct {
	mu    sync.Mutex
	cap   int
	order *list.List // front: most recently used; values are *lruEntry[V]
	items map[string]*list.Element
}

type lruEntry[V any] struct {
	key string
	val V
}

func newLRU[V any](capacity int) *lru[V] {
	return &lru[V]{cap: capacity, order: list.New(), items: map[string]*list.Element{}}
}

// get returns the value for key and marks it used.
func (c *lru[V]) get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*lruEntry[V]).val, true
	}
	var zero V
	return zero, false
}

// add stores val under key unless the key is present, evicting the least
// recently used entry beyond the capacity, and returns the value now held
// for key (the earlier one when two callers raced).
func (c *lru[V]) add(key string, val V) V {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*lruEntry[V]).val
	}
	if c.cap <= 0 {
		return val
	}
	c.items[key] = c.order.PushFront(&lruEntry[V]{key: key, val: val})
	for c.order.Len() > c.cap {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*lruEntry[V]).key)
	}
	return val
}

// len returns the number of entries held.
func (c *lru[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
