package shard

import (
	"context"
	"errors"
	"fmt"

	"github.com/lastevent/lastevent/core"
)

// adopt gives each entry of batch that has not yet adopted its stored
// history (one Observe created it, and no Resume ran) that history before
// its first write: one Backend.Load for all of them, then Seq renumbered on
// top of the stored checkpoint (core.Slot.Adopt). This is what makes Seq
// continue across restarts, across processes and across eviction, so a
// session's new checkpoint is never a lower Seq that the backend would
// refuse as stale. Entries whose load fails stay in memory, are reported and
// retried like failed writes. It returns batch without them.
func (s *shard) adopt(batch []*entry, g uint64, now int64) []*entry {
	s.adopting, s.names = s.adopting[:0], s.names[:0]
	for _, e := range batch {
		if !e.Adopted() {
			s.adopting = append(s.adopting, e)
			s.names = append(s.names, e.session)
		}
	}
	if len(s.adopting) == 0 {
		return batch
	}
	stored, err := s.load(s.parentCtx(), s.names)
	clear(s.names)
	clear(s.adopting)
	// Entries whose load failed, as a whole or for their own stored value,
	// and that no Resume adopted meanwhile wait for a retry.
	kept := batch[:0]
	for _, e := range batch {
		var failed error
		e.Lock()
		if !e.AdoptedLocked() { // a Resume may have adopted it meanwhile
			cp := stored[e.session]
			if failed = err; failed == nil {
				failed = checkStored(cp)
			}
			if failed == nil {
				adoptStored(e, cp)
			}
		}
		e.Unlock()
		if failed != nil {
			s.deferOrFail(e, g, now, fmt.Errorf("lastevent: load %q before its first write: %w", e.session, failed))
			continue
		}
		kept = append(kept, e)
	}
	clear(batch[len(kept):])
	return kept
}

// deferOrFail files an entry whose load did not happen or failed.
func (s *shard) deferOrFail(e *entry, g uint64, now int64, err error) {
	if errors.Is(err, ErrBreakerOpen) {
		s.deferOne(e, g, now, err)
		return
	}
	s.fail(e, e.checkpoint(), err, g, now)
}

// checkStored returns a permanent failure, which changes nothing, for a
// loaded checkpoint whose window cannot belong to it
// (core.Checkpoint.CheckWindow): seeding from it could drop events never
// seen, or let a replay move Last-Event-ID back.
func checkStored(cp core.Checkpoint) error {
	if err := cp.CheckWindow(); err != nil {
		return fmt.Errorf("%w: %w", core.ErrPermanent, err)
	}
	return nil
}

// adoptStored makes e continue the stored checkpoint cp, which passed
// checkStored: its Seq, and its window below e's own (core.Slot.Adopt). The
// caller holds e's writer flag. A checkpoint at or below what this tracker
// knows durable is its own history (it wrote it), not an older one to build
// on.
func adoptStored(e *entry, cp core.Checkpoint) {
	if cp.Seq <= e.storedSeq.Load() {
		cp = core.Checkpoint{}
	}
	before := e.Seq()
	seq := e.AdoptLocked(cp)
	e.counted += seq - before // renumbering is not events
	storeMax(&e.storedSeq, cp.Seq)
}

// load calls Backend.Load through the shard's breaker, with the store
// timeout, containing a panic like store does.
func (s *shard) load(parent context.Context, sessions []string) (stored map[string]core.Checkpoint, err error) {
	done, err := s.breaker.allow()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(parent, s.cfg.StoreTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			stored, err = nil, fmt.Errorf("%w: backend Load panicked: %v", core.ErrPermanent, p)
		}
		done(err == nil || !core.IsRetryable(err))
	}()
	return s.backend.Load(ctx, sessions)
}

// parentCtx is the parent context of the flusher's backend calls: Close's
// context during the final drain, else Background.
func (s *shard) parentCtx() context.Context {
	if s.parent == nil {
		return context.Background()
	}
	return s.parent
}
