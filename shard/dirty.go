package shard

import "sync/atomic"

// dirtyStack is a lock-free intrusive stack (Treiber) of entries waiting for
// their flusher. Observe pushes an entry at most once per flush (the entry's
// queued flag guards it); the flusher takes the whole stack at once with a
// swap, so there is no pop and no ABA problem.
type dirtyStack struct {
	head atomic.Pointer[entry]
	// counts packs two counts in one word, so that a push costs one atomic
	// add beside its compare-and-swap, on a line other cores write too:
	// the low half is the entries pushed since the last take (a full batch
	// of them wakes the flusher early), the high half the queued entries
	// flagged unstored (lifecycle.go), on the stack or held, which with the
	// retry queue are what Stats.DirtySessions counts. Both are added
	// before the entry is pushed and taken off after it was taken, so
	// neither half goes below zero and no borrow crosses between them.
	counts atomic.Uint64
}

// Deltas of dirtyStack.counts.
const (
	onePushed   uint64 = 1
	oneUnstored uint64 = 1 << 32
)

// sealed marks a stack whose shard has closed: pushes fail from then on.
var sealed = new(entry)

// push adds e, which the caller has flagged queued, counting it unstored
// too if unstored is set, and returns the number of entries pushed since
// the last take, or -1 if the stack is sealed (nothing is counted then).
func (d *dirtyStack) push(e *entry, unstored bool) int64 {
	delta := onePushed
	if unstored {
		delta |= oneUnstored
	}
	n := d.counts.Add(delta)
	for {
		old := d.head.Load()
		if old == sealed {
			d.counts.Add(-delta)
			return -1
		}
		e.next = old
		if d.head.CompareAndSwap(old, e) {
			return int64(uint32(n))
		}
	}
}

// addUnstored counts one more queued entry as unstored: one that was queued
// by a duplicate, then accepted an event.
func (d *dirtyStack) addUnstored() { d.counts.Add(oneUnstored) }

// taken uncounts what the flusher took: pushed entries off the stack, and
// unstored ones it dequeued.
func (d *dirtyStack) taken(pushed, unstored int64) {
	if delta := uint64(pushed)*onePushed + uint64(unstored)*oneUnstored; delta != 0 {
		d.counts.Add(-delta)
	}
}

// pushed returns the entries pushed since the last take.
func (d *dirtyStack) pushed() int64 { return int64(uint32(d.counts.Load())) }

// unstored returns the queued entries flagged unstored.
func (d *dirtyStack) unstored() int64 { return int64(d.counts.Load() >> 32) }

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
