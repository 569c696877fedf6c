package shard

import "sync/atomic"

// dirtyStack is a lock-free intrusive stack (Treiber) of entries waiting for
// their flusher. Observe pushes an entry at most once per flush (the entry's
// queued flag guards it); the flusher takes the whole stack at once with a
// swap, so there is no pop and no ABA problem.
type dirtyStack struct {
	head atomic.Pointer[entry]
	// count is the entries pushed since the last take: a full batch of
	// them wakes the flusher early.
	count atomic.Int64
	// unstored is the queued entries flagged unstored (lifecycle.go), on
	// the stack or held: with the retry queue, what Stats.DirtySessions
	// counts. A duplicate queues an entry without counting it here.
	unstored atomic.Int64
}

// sealed marks a stack whose shard has closed: pushes fail from then on.
var sealed = new(entry)

// push adds e and returns the number of entries now on the stack, or -1 if
// the stack is sealed. The caller must have set e's queued flag.
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
