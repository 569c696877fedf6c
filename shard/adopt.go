package shard

import (
	"fmt"

	"github.com/lastevent/lastevent/core"
)

// adopt is the cycle's second stage. It gives each taken entry that has not
// adopted its stored history (one Observe made it, and no Resume ran) that
// history before its first write: one Backend.Load for all of them, then Seq
// renumbered on top of the stored checkpoint and the stored window put below
// the entry's own (core.Slot.Adopt). This is what makes Seq continue across
// restarts, across processes and across eviction, so a session's new
// checkpoint is never a lower Seq that the backend would refuse as stale.
// An adopted entry joins the batch to write; one whose load failed, as a
// whole or for its own stored value, stays in memory and is filed for a
// retry like a failed write. Its writer flag is taken a second time in the
// cycle, once in its life: after the Load.
func (s *shard) adopt(now int64) {
	b := &s.batch
	if len(b.adopting) == 0 {
		return
	}
	for _, e := range b.adopting {
		b.names = append(b.names, e.session)
	}
	stored, err := s.load(s.parentCtx(), b.names)
	var failures map[string]error
	if err != nil && len(b.names) > 1 && !core.IsRetryable(err) {
		// A permanent failure of the whole Load may be one session's
		// stored value: load each alone, so one foreign or corrupt item
		// holds back only its own session.
		stored, failures = s.loadEach(b.names)
		err = nil
	}
	for _, e := range b.adopting {
		var cp core.Checkpoint
		var failed error
		e.Lock()
		if !e.AdoptedLocked() { // else a Resume adopted it meanwhile
			if failed = err; failed == nil {
				failed = failures[e.session]
			}
			if failed == nil {
				failed = checkStored(stored[e.session])
			}
			if failed == nil {
				adoptStored(e, stored[e.session])
			}
		}
		if failed == nil {
			cp = e.persistableLocked(s.cfg.PersistWindow)
		}
		e.Unlock()
		if failed != nil {
			s.file(e, e.checkpoint(), fmt.Errorf("lastevent: load %q before its first write: %w", e.session, failed), now)
			continue
		}
		b.add(e, cp)
	}
	b.names = reuse(b.names, s.cfg.MaxBatch)
	b.adopting = reuse(b.adopting, s.cfg.MaxBatch)
}

// loadEach loads each session with a Load of its own: the stored
// checkpoints found, and the error of each session whose Load failed.
func (s *shard) loadEach(sessions []string) (map[string]core.Checkpoint, map[string]error) {
	stored := make(map[string]core.Checkpoint, len(sessions))
	failures := make(map[string]error)
	for _, name := range sessions {
		one, err := s.load(s.parentCtx(), []string{name})
		if err != nil {
			failures[name] = err
			continue
		}
		if cp, ok := one[name]; ok {
			stored[name] = cp
		}
	}
	return stored, failures
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
