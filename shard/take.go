package shard

import "github.com/lastevent/lastevent/core"

// batch is one cycle's work, flusher-owned and reused from cycle to cycle:
// take fills it, adopt completes it, write sends it, settle files its
// outcomes and empties it.
type batch struct {
	entries []*entry          // to write; cps[i] is entries[i]'s checkpoint
	cps     []core.Checkpoint // read under the entry's writer flag
	results []core.Result     // write's: results[i] is the outcome of cps[i]
	// adopting are taken entries that do not know their stored history:
	// adopt loads it (names are their sessions) before they join entries.
	adopting []*entry
	names    []string
	due      []*entry // take's: the retries due this cycle
}

// add queues e's checkpoint cp for writing.
func (b *batch) add(e *entry, cp core.Checkpoint) {
	b.entries = append(b.entries, e)
	b.cps = append(b.cps, cp)
}

// take is the cycle's first stage. It collects the entries the cycle writes
// — those the dirty stack holds, those an early cycle held for the tick, and
// failing ones whose retry is due — and reads each one's newest checkpoint
// (record and window) and counts under one hold of its writer flag. An
// entry that has not adopted its stored history is left to adopt.
func (s *shard) take(c cycle, now int64) {
	if c.takeDirty {
		// The stack first: held entries are still queued, so none of them
		// can be on it, and each entry is met once.
		list := s.dirty.take(c.seal)
		var pushed, unstored int64
		if !c.early {
			for _, e := range s.held {
				unstored += s.takeQueued(e, now)
			}
			s.held = reuse(s.held, s.cfg.MaxBatch)
		}
		for e := list; e != nil; {
			next := e.next
			e.next = nil
			pushed++
			if c.early && e.writtenPeriod == uint32(s.period) {
				// Written this period already: it stays queued (so Observe
				// does not push it again) until the tick writes it.
				s.held = append(s.held, e)
			} else {
				unstored += s.takeQueued(e, now)
			}
			e = next
		}
		s.dirty.taken(pushed, unstored)
	}
	if !s.breaker.open() {
		// While the breaker is open every retry waits for it. Retries due
		// within half a base delay go together: jitter spreads them over
		// time, and one Store per retried session would spend the breaker's
		// threshold of failed calls in a few milliseconds.
		b := &s.batch
		b.due = s.retries.due(b.due[:0], now+int64(s.cfg.RetryBaseDelay/2), c.retryAll)
		for _, e := range b.due {
			s.read(e) // still queued, if it is: the stack will give it back
		}
		clear(b.due)
	}
}

// takeQueued takes e off the dirty stack or the held list, and returns 1
// if it was counted unstored (for dirtyStack.taken), else 0.
func (s *shard) takeQueued(e *entry, now int64) (unstored int64) {
	st := e.dequeue()
	if st&flagUnstored != 0 {
		unstored = 1
	}
	switch lifeOf(st) {
	case lifeDeleted:
		return unstored // Tracker.Delete dropped it
	case lifeFresh:
		e.track()
		s.clock.add(e) // the flusher's first sight of it
	}
	e.active = now
	if lifeOf(st) == lifeFailing {
		return unstored // its retry writes the newest checkpoint; its counts wait for it
	}
	s.read(e)
	return unstored
}

// read takes e's writer flag once: it collects e's counts and, if e knows
// its stored history, reads the checkpoint to write. One with nothing newer
// than what is durable (a duplicate queued it) skips the window: write
// drops it unsent.
func (s *shard) read(e *entry) {
	e.Lock()
	s.collectLocked(e)
	if !e.AdoptedLocked() {
		e.Unlock()
		s.batch.adopting = append(s.batch.adopting, e)
		return
	}
	cp := e.checkpoint()
	if cp.Seq > e.storedSeq.Load() {
		cp.Window = e.WindowLocked(s.cfg.PersistWindow)
	}
	e.Unlock()
	s.batch.add(e, cp)
}
