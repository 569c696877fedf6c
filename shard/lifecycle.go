package shard

// An entry's lifecycle, in one place. entry.state packs a life state and
// three flags into one atomic word:
//
//	bits 0-2  life       where the entry stands in its shard (below)
//	bit  3    queued     on the dirty stack, or held for the next tick
//	bit  4    unstored   queued with an accepted checkpoint not yet stored,
//	                     counted in dirtyStack.unstored (DirtySessions)
//	bit  5    referenced the CLOCK reference bit: a duplicate was observed
//	                     since the sweep last visited
//
// Life states and the transitions between them. Only the flusher changes
// the life state; Observe and Resume read it.
//
//	           take                 file (a write or load failed)
//	fresh ───────────▶ tracked ──────────────────────────────▶ failing
//	                    ▲  │  ◀──────────────────────────────────┘
//	                    │  │      settle (stored), or nothing to write
//	                    │  │
//	                    │  └── sweep (clean; idle or under pressure) ──▶ evicted
//	fresh, tracked, failing ── Delete ─────────────────────────────────▶ deleted
//
// fresh: made by Observe or Resume; the flusher has not taken it yet, so it
// is in no CLOCK. tracked: in its shard's CLOCK, not failing. failing: in
// the retry queue, or taken from it by the running cycle until its write
// settles (its last write or load failed, or waits for an open breaker);
// still in the CLOCK. evicted, deleted: out of the map, terminal; entered
// under the writer flag, so an Observe or Resume that holds the flag and
// finds one moves to a live entry (Tracker.lockLive).
//
// The flags are set by Observe under the writer flag (queued, unstored,
// referenced) and cleared by the flusher (take, sweep) with atomic
// operations. Whether an entry adopted its stored history is the slot's
// business (core.Slot.Adopted), independent of all this.
const (
	lifeFresh uint32 = iota
	lifeTracked
	lifeFailing
	lifeEvicted
	lifeDeleted

	lifeMask uint32 = 1<<3 - 1

	flagQueued     uint32 = 1 << 3
	flagUnstored   uint32 = 1 << 4
	flagReferenced uint32 = 1 << 5
)

// lifeOf returns the life state of a state word.
func lifeOf(st uint32) uint32 { return st & lifeMask }

// setLife moves e to life state to. Flusher only: the flags may change
// under it, the life state may not.
func (e *entry) setLife(to uint32) (from uint32) {
	for {
		st := e.state.Load()
		if e.state.CompareAndSwap(st, st&^lifeMask|to) {
			return lifeOf(st)
		}
	}
}

// track makes a fresh entry tracked and reports whether it was fresh: the
// flusher's first sight of it, when it joins the CLOCK.
func (e *entry) track() bool {
	if lifeOf(e.state.Load()) != lifeFresh {
		return false
	}
	e.setLife(lifeTracked)
	return true
}

// startFailing and stopFailing move e into and out of the retry queue's
// state; the retry queue calls them as it takes e in and lets it go.
func (e *entry) startFailing() { e.setLife(lifeFailing) }
func (e *entry) stopFailing()  { e.setLife(lifeTracked) }

// evictLocked and deleteLocked end e; the caller holds its writer flag, so
// a writer that takes the flag next sees it gone.
func (e *entry) evictLocked()  { e.setLife(lifeEvicted) }
func (e *entry) deleteLocked() { e.setLife(lifeDeleted) }

// failing reports whether e is in the retry queue.
func (e *entry) failing() bool { return lifeOf(e.state.Load()) == lifeFailing }

// deleted reports whether Delete ended e: nothing of it is written again.
func (e *entry) deleted() bool { return lifeOf(e.state.Load()) == lifeDeleted }

// goneState reports whether an entry in state st left its shard's map
// (evicted or deleted).
func goneState(st uint32) bool { return lifeOf(st) >= lifeEvicted }

// queueLocked asks the flusher to take e at its next cycle; the caller
// holds e's writer flag. unstored says e now holds an accepted checkpoint
// not yet stored. It returns the flags it set (flagQueued when the caller
// must push e on the dirty stack, flagUnstored when it must count it), 0
// when there is nothing to do. A failing entry is not counted unstored: the
// retry queue counts it already.
func (e *entry) queueLocked(unstored bool) (set uint32) {
	st := e.state.Load()
	if st&flagQueued == 0 {
		set |= flagQueued
	}
	if unstored && st&flagUnstored == 0 && lifeOf(st) != lifeFailing {
		set |= flagUnstored
	}
	if set != 0 {
		e.state.Or(set)
	}
	return set
}

// unqueue clears flags (set by queueLocked) that a push which failed
// could not honour.
func (e *entry) unqueue(flags uint32) { e.state.And(^flags) }

// dequeue is the flusher taking e off the dirty stack or out of the held
// list: it clears queued and unstored and returns the state word before.
// Clearing queued before the checkpoint is read means an event stored after
// that read queues e again; one stored before it is the one written.
func (e *entry) dequeue() uint32 { return e.state.And(^(flagQueued | flagUnstored)) }

// reference sets the CLOCK reference bit, unless it is set.
func (e *entry) reference(st uint32) {
	if st&flagReferenced == 0 {
		e.state.Or(flagReferenced)
	}
}

// takeReference clears the reference bit and reports whether it was set.
func (e *entry) takeReference() bool { return e.state.And(^flagReferenced)&flagReferenced != 0 }

// referenced reports whether the reference bit is set.
func (e *entry) referenced() bool { return e.state.Load()&flagReferenced != 0 }

// cleanLocked reports whether e's newest checkpoint is stored and it waits
// for nothing: what the sweep may evict. The caller holds the writer flag.
func (e *entry) cleanLocked() bool {
	st := e.state.Load()
	return st&flagQueued == 0 && lifeOf(st) == lifeTracked && e.Seq() == e.storedSeq.Load()
}
