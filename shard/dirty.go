package shard

import "sync/atomic"

// dirtyStack is a lock-free intrusive stack (Treiber) of entries with an
// unflushed checkpoint. Observe pushes an entry at most once per flush (the
// entry's queued flag guards it); the flusher takes the whole stack at once
// with a swap, so there is no pop and no ABA problem.
type dirtyStack struct {
	head  atomic.Pointer[entry]
	count atomic.Int64
}

// sealed marks a stack whose shard has closed: pushes fail from then on.
var sealed = new(entry)

// push adds e and returns the number of entries now on the stack, or -1 if
// the stack is sealed. The caller must have won e.queued.
func (d *dirtyStack) push(e *entry) int64 {
	for {
		old := d.head.Load()
		if old == sealed {
			return -1
		}
		e.next = old
		if d.head.CompareAndSwap(old, e) {
			return d.count.Add(1)
		}
	}
}

// take removes and returns every entry, leaving the stack empty, or sealed
// when seal is true. The returned list is linked through next.
func (d *dirtyStack) take(seal bool) *entry {
	var repl *entry
	if seal {
		repl = sealed
	}
	list := d.head.Swap(repl)
	if list == sealed {
		return nil
	}
	return list
}
