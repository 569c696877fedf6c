package property

import (
	"fmt"

	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/commands"

	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/internal/testmodel"
	"github.com/lastevent/lastevent/shard"
)

// deleteCmd calls Tracker.Delete. The model's next state must not depend
// on chance, so the command has two forms:
//
//   - once: one Delete (retried while the breaker refuses it on a healthy
//     backend). Valid where its effect is determinate: on a healthy backend
//     it succeeds and the session starts again from nothing (reset); in an
//     outage it fails, the session leaves memory and, since its newest
//     checkpoint is durable (the precondition), the stored copy is that
//     checkpoint, so a later Observe is numbered on top of it after the
//     Load before its first write, as after eviction (leaveMemory).
//   - persist: the caller's side of the contract "call Delete again": one
//     Delete under whatever fault is injected (it must fail in an outage,
//     and may fail with ErrBreakerOpen on a flaky backend or one failing
//     Loads), then heal the backend and call Delete until it succeeds. The
//     session then starts again from nothing. This is the form for a
//     session whose newest checkpoint may not be stored: a failed Delete
//     drops that checkpoint for good, so the stored copy left is one of
//     several and the history a later Observe continues is not determinate.
//
// Session -1 is the empty name and -2 a name with a NUL: Delete returns the
// core sentinel and changes nothing.
type deleteCmd struct {
	s       int
	persist bool
}

// pickDelete draws a Delete of session s (in an outage, of a session whose
// history is all stored, if there is one): now and then of an invalid name,
// persist where once would not be determinate, and sometimes where it
// would.
func (m *trackerModel) pickDelete(s, r, k int) deleteCmd {
	switch k % 16 {
	case 0:
		return deleteCmd{s: -1}
	case 1:
		return deleteCmd{s: -2}
	}
	if m.fault == outage {
		// Prefer a session with a stored history and nothing unstored: the
		// one Delete that fails with a determinate effect.
		for j := range poolSize {
			if t := (s + j) % poolSize; !m.dirty(t) && m.sessions[t].Seq() > 0 {
				s = t
				break
			}
		}
	}
	c := deleteCmd{s: s, persist: r < 30}
	if !c.PreCondition(m) {
		c.persist = true
	}
	return c
}

func (c deleteCmd) PreCondition(st commands.State) bool {
	m := st.(*trackerModel)
	return c.s < 0 || c.persist || m.fault == healthy || (m.fault == outage && !m.dirty(c.s))
}

func (c deleteCmd) Run(sut commands.SystemUnderTest) commands.Result {
	h := sut.(*harness)
	ctx, cancel := contextWithTimeout(generous)
	defer cancel()
	o := &outcome{}
	if c.s < 0 {
		o.err = h.tr.Delete(ctx, h.sessionName(c.s))
		return h.snapshot(o)
	}
	o.err = testmodel.Delete(ctx, h.tr, h.name(c.s), h.cfg.BreakerResetTimeout, h.mode == healthy)
	deleted := o.err == nil
	if c.persist && h.mode != healthy {
		h.setFault(healthy)
		if !deleted {
			o.retryErr = testmodel.Delete(ctx, h.tr, h.name(c.s), h.cfg.BreakerResetTimeout, true)
			deleted = o.retryErr == nil
		}
	}
	if deleted {
		h.storedBefore[c.s] = 0 // the stored Seq may drop to nothing now
	}
	// A background cycle may have written the session up to the moment its
	// flusher took the Delete; nothing of it is written afterwards (the
	// snapshot's stored Seq, which must be 0 after a successful Delete,
	// catches a write that lands later).
	o.earlier = h.takeWritten(o)
	return h.snapshot(o)
}

func (c deleteCmd) NextState(st commands.State) commands.State {
	m := st.(*trackerModel).clone()
	switch {
	case c.s == -1:
		m.expect.err = core.ErrEmptySession
		return m
	case c.s == -2:
		m.expect.err = core.ErrInvalidSession
		return m
	case m.fault == healthy:
	case m.fault == outage:
		// Every backend call fails: the backend's, or the breaker's
		// refusal after the failures; both wrap ErrRetryable.
		m.expect.err = core.ErrRetryable
	default:
		// Delete calls reach the backend and succeed, unless failed Stores
		// or Loads have opened the breaker.
		m.expect.err, m.expect.either = shard.ErrBreakerOpen, true
	}
	s := &m.sessions[c.s]
	m.expect.deleted = s.Clone().History
	if !c.persist && m.fault == outage {
		s.leaveMemory()
		return m
	}
	if c.persist {
		m.fault = healthy
	}
	s.reset()
	return m
}

func (c deleteCmd) PostCondition(st commands.State, res commands.Result) *gopter.PropResult {
	m, o := st.(*trackerModel), res.(*outcome)
	var p problems
	want := m.expect
	if !want.allows(o.err) {
		p.addf("%v: got %v, want %s", c, o.err, want.errText())
	}
	if o.retryErr != nil {
		p.addf("%v: Delete again after healing the backend: %v", c, o.retryErr)
	}
	for _, w := range o.earlier {
		h := m.sessions[w.session].History
		if w.session == c.s {
			h = want.deleted
		}
		if w.seq == 0 || w.seq > uint64(len(h)) || h[w.seq-1] != w.eventID {
			p.addf("backend wrote s%d seq %d ID %q by the time Delete returned, which is not the model's checkpoint at that seq", w.session, w.seq, w.eventID)
		}
	}
	return p.verdict(m, o)
}

func (c deleteCmd) String() string {
	if c.persist {
		return fmt.Sprintf("Delete(%s), then heal and Delete until done", sessionLabel(c.s))
	}
	return fmt.Sprintf("Delete(%s)", sessionLabel(c.s))
}
