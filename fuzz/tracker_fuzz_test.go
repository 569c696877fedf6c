package fuzz

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/lastevent/lastevent/backends/fault"
	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/internal/testmodel"
	"github.com/lastevent/lastevent/shard"
)

const (
	scriptSessions = 3
	maxOps         = 128
	// generous bounds calls that must succeed; it only detects hangs.
	generous = 30 * time.Second
	// faultWait bounds a Flush while faults are injected.
	faultWait = 5 * time.Millisecond
)

// script runs one decoded operation script.
type script struct {
	t        *testing.T
	cfg      shard.Config
	store    *memory.Backend
	checker  *fault.Checker
	faults   *fault.Backend
	faulty   bool
	tr       *shard.Tracker
	persist  int // recent IDs a written checkpoint carries (0: off)
	sessions [scriptSessions]scriptSession
	fresh    int
}

// scriptSession is the model of one session: its exact history
// (testmodel.Session, numbered as the store numbers it) and what the
// tracker holds of it.
type scriptSession struct {
	testmodel.Session
	inMemory bool
	// base is the stored Seq an entry created by Observe numbers on top of
	// once adopted (see testmodel.MemorySeqs): the Seq the session had when
	// it left memory without a successful Delete.
	base    uint64
	adopted testmodel.Adoption
	// durable is a lower bound of the stored Seq: what a Flush that
	// returned nil, or a Close, stored.
	durable uint64
}

// leave is the session leaving memory with its newest stored checkpoint at
// seq, whose window names stored (a restart that does not resume it, or a
// failed Delete): the history after seq is dropped for good, nothing is in
// its window, and its next entry numbers on top of seq, and takes the
// stored window below its own, once adopted.
func (sp *scriptSession) leave(seq uint64, stored []string) {
	sp.History = sp.History[:seq]
	sp.Window, sp.Stored = nil, stored
	sp.inMemory, sp.base, sp.adopted, sp.durable = false, seq, testmodel.AdoptNo, seq
}

// adopt records that the entry in memory has adopted its stored history,
// if the model did not know it yet: the stored window goes below its own.
func (sp *scriptSession) adopt(w int) {
	if sp.inMemory && sp.adopted != testmodel.AdoptYes {
		sp.Adopt(w)
		sp.adopted = testmodel.AdoptYes
	}
}

// stored is what a Flush that returned nil, or a Close, leaves: an entry in
// memory adopted (a flusher adopts an entry before its first write), and
// its newest checkpoint durable with the last k IDs of its window.
func (sp *scriptSession) stored(w, k int) {
	sp.durable = sp.Seq()
	if sp.inMemory {
		sp.adopt(w)
		sp.Persist(k)
	}
}

// FuzzTracker decodes a configuration and a script of two-byte operations
// from the input and runs them on a Tracker over fault.Backend →
// fault.Checker → memory, and on a sequential model. Every dedup answer,
// LastEventID, Checkpoint (with the provisional Seq an entry reports before
// it adopts its stored history) and Sessions must equal the model's; a
// failed Delete must leave a stored checkpoint of the session's history no
// older than the last durable one; a Flush must succeed
// while no fault is injected; whenever Flush returns nil the store must
// hold exactly the model's newest checkpoint of every session; no stored
// checkpoint may move backwards; and after the faults are healed a final
// Flush must store everything.
//
// Header: byte 0 picks the window (1 to 8), shards (1 to 4) and how many
// recent IDs a checkpoint persists (the window, 1, or none), byte 1 seeds
// the fault backend. Operations (kind, arg), kind modulo 16, where 11 to 15
// mean 3 to 7 (so a kind below 8 means what it meant when kinds were taken
// modulo 8, and the older corpus keeps its meaning):
//
//	0, 1  Observe of session arg%3: a fresh ID, a recent one, the one
//	      exactly W back or W+1 back (arg/3 % 4)
//	2     Observe of another session's newest ID (dedup is per session)
//	3     read LastEventID and Checkpoint of every session
//	4     Flush
//	5     inject faults drawn from arg (0 heals): item errors, permanent
//	      share, throttling, partial batches, lost replies, Load errors,
//	      an outage
//	6     restart: heal, Close, New on the same store, Resume every session
//	7     Resume of session arg%3 (answered from memory when it knows its
//	      history)
//	8, 9  Delete of session arg%3: with no fault injected it must succeed
//	      and the session starts again at Seq 1; under faults it may fail,
//	      and then the session has left memory, the store keeps one of its
//	      checkpoints, and what it had not stored is gone for good
//	10    restart resuming only the sessions whose bit is set in arg%8: the
//	      others leave memory, and their next Observe numbers on top of the
//	      stored Seq only after the Load before its first write
func FuzzTracker(f *testing.F) {
	f.Add([]byte{0x13, 7, 0, 0, 0, 3, 1, 6, 4, 0, 5, 0xff, 0, 1, 4, 0, 6, 0, 1, 4})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		s := newScript(t, data[0], data[1])
		defer s.close()
		// At most maxOps operations: a longer script finds nothing a
		// shorter one cannot, and Flushes during faults wait faultWait.
		for i := 2; i+1 < len(data) && i < 2+2*maxOps; i += 2 {
			kind := data[i] % 16
			if kind > 10 {
				kind -= 8
			}
			s.step(i/2-1, kind, int(data[i+1]))
		}
		s.finish()
	})
}

func newScript(t *testing.T, shape, seed byte) *script {
	s := &script{t: t, store: memory.New()}
	s.cfg = shard.Config{Window: 1 << (shape % 4), Shards: 1 << (shape / 4 % 3), Logger: quietLogger(),
		PersistWindow: [...]int{0, 1, shard.PersistWindowOff}[shape/12%3],
		FlushInterval: time.Hour, MaxBatch: 256, StoreTimeout: generous,
		RetryBaseDelay: time.Millisecond, RetryMaxDelay: 2 * time.Millisecond,
		BreakerThreshold: 2, BreakerResetTimeout: time.Millisecond}
	s.checker = fault.NewChecker(s.store)
	s.faults = fault.New(s.checker, fault.Config{Seed: uint64(seed)})
	tr, err := shard.New(s.faults, s.cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", s.cfg, err)
	}
	s.tr = tr
	switch s.cfg.PersistWindow {
	case 0:
		s.persist = s.cfg.Window // the default: all of a window under 32
	case shard.PersistWindowOff:
		s.persist = 0
	default:
		s.persist = s.cfg.PersistWindow
	}
	return s
}

func name(i int) string { return "s" + strconv.Itoa(i) }

func (s *script) step(op int, kind byte, arg int) {
	t := s.t
	switch kind {
	case 0, 1, 2:
		i := arg % scriptSessions
		id := s.pickID(i, kind, arg)
		got, err := s.tr.Observe(name(i), id)
		sp := &s.sessions[i]
		if !sp.inMemory {
			sp.inMemory, sp.adopted = true, testmodel.AdoptNo
		}
		if sp.adopted == testmodel.AdoptMaybe && sp.MayAdopt(id, s.cfg.Window) && err == nil && !got {
			// A duplicate only the stored window explains: the flusher
			// has adopted the entry in the background.
			sp.adopt(s.cfg.Window)
		}
		want := sp.Observe(id, s.cfg.Window)
		if err != nil || got != want {
			t.Fatalf("op %d: Observe(%s, %s): got (%t, %v), want (%t, nil)", op, name(i), id, got, err, want)
		}
	case 3:
		s.checkReads(op)
	case 4:
		err := s.flush()
		switch {
		case err == nil:
			s.checkStored(fmt.Sprintf("op %d: after Flush returned nil", op))
		case !s.faulty:
			t.Fatalf("op %d: Flush with no fault injected: %v", op, err)
		case !errors.Is(err, shard.ErrUnflushed):
			t.Fatalf("op %d: Flush: got %v, want an error wrapping ErrUnflushed", op, err)
		default:
			// Failed writes and loads are retried in the background: an
			// entry not yet adopted may be adopted at any time from now on.
			for i := range s.sessions {
				if sp := &s.sessions[i]; sp.inMemory && sp.adopted == testmodel.AdoptNo {
					sp.adopted = testmodel.AdoptMaybe
				}
			}
		}
	case 5:
		s.setFaults(byte(arg))
	case 6:
		s.restart(op, 1<<scriptSessions-1)
	case 7:
		i := arg % scriptSessions
		cp, err := s.resume(name(i))
		// Resume returns the full history whether the session is in memory
		// (adopting it if an Observe created it) or loaded from the store;
		// a failed one changes nothing.
		if err == nil {
			s.wantCheckpoint(op, "Resume", i, cp, cp.Seq > 0)
			s.resumed(i)
		} else if !s.faulty {
			t.Fatalf("op %d: Resume(%s) with no fault injected: %v", op, name(i), err)
		}
	case 8, 9:
		s.delete(op, arg%scriptSessions)
	case 10:
		s.restart(op, arg%(1<<scriptSessions))
	}
	s.checkReads(op)
	if err := s.checker.Err(); err != nil {
		t.Fatalf("op %d: %v", op, err)
	}
}

// pickID chooses an ID for session i that probes its window.
func (s *script) pickID(i int, kind byte, arg int) string {
	sp := &s.sessions[i]
	w, n := s.cfg.Window, len(sp.History)
	if kind == 2 {
		if other := &s.sessions[(i+1)%scriptSessions]; len(other.History) > 0 {
			return other.Last()
		}
	}
	switch arg / scriptSessions % 4 {
	case 1:
		if len(sp.Window) > 0 {
			return sp.Window[arg%len(sp.Window)]
		}
	case 2:
		if len(sp.Window) == w {
			return sp.Window[0]
		}
	case 3:
		if n > w {
			return sp.History[n-w-1]
		}
	}
	s.fresh++
	return "e" + strconv.Itoa(s.fresh)
}

func (s *script) setFaults(arg byte) {
	s.faulty = arg != 0
	rate := func(bit uint, p float64) float64 {
		if arg>>bit&1 == 1 {
			return p
		}
		return 0
	}
	cfg := fault.Config{
		ErrorRate:      float64(arg&3) / 4,
		PartialRate:    rate(2, 0.5),
		LostReplyRate:  rate(3, 0.5),
		ThrottleRate:   rate(4, 0.3),
		PermanentShare: rate(5, 0.5),
		LoadErrorRate:  rate(6, 1),
		// Only Delete ops call Delete, so the older corpus (from before
		// them) runs as it did.
		DeleteErrorRate: rate(6, 0.5),
	}
	if err := s.faults.Set(cfg); err != nil {
		s.t.Fatalf("fault.Set(%+v): %v", cfg, err)
	}
	if arg>>7 == 1 {
		s.faults.StartOutage(0) // until the next Set
	}
}

// resume calls Resume, again while the shard's circuit breaker refuses the
// Load and no fault is injected (testmodel.Resume).
func (s *script) resume(session string) (core.Checkpoint, error) {
	ctx, cancel := context.WithTimeout(context.Background(), generous)
	defer cancel()
	return testmodel.Resume(ctx, s.tr, session, s.cfg.BreakerResetTimeout, !s.faulty)
}

func (s *script) flush() error {
	wait := generous
	if s.faulty {
		wait = faultWait
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	return s.tr.Flush(ctx)
}

// restart heals the store, closes the tracker (which must store
// everything), starts a new one on the same store and resumes the sessions
// whose bit is set in mask: each continues its stored Seq, and only its
// newest ID is in its window. The others leave memory.
func (s *script) restart(op, mask int) {
	t := s.t
	s.setFaults(0)
	ctx, cancel := context.WithTimeout(context.Background(), generous)
	defer cancel()
	if err := s.tr.Close(ctx); err != nil {
		t.Fatalf("op %d: Close before restart: %v", op, err)
	}
	s.checkStored(fmt.Sprintf("op %d: after Close", op))
	tr, err := shard.New(s.faults, s.cfg)
	if err != nil {
		s.tr = nil
		t.Fatalf("op %d: New after restart: %v", op, err)
	}
	s.tr = tr
	for i := range s.sessions {
		sp := &s.sessions[i]
		sp.leave(sp.Seq(), sp.Stored) // Close stored everything (checkStored)
		if mask>>i&1 == 0 {
			continue
		}
		cp, err := s.resume(name(i))
		if err != nil {
			t.Fatalf("op %d: Resume(%s) after restart: %v", op, name(i), err)
		}
		s.wantCheckpoint(op, "Resume after restart", i, cp, cp.Seq > 0)
		s.resumed(i)
	}
}

// resumed records a successful Resume of session i: loaded with its stored
// window if it was not in memory, adopted (the stored window below its own)
// if it was.
func (s *script) resumed(i int) {
	sp := &s.sessions[i]
	if !sp.inMemory {
		sp.Reload(s.cfg.Window)
		sp.inMemory, sp.adopted = true, testmodel.AdoptYes
		return
	}
	sp.adopt(s.cfg.Window)
}

// delete calls Delete of session i (again while the breaker refuses it,
// with no fault injected). When it succeeds the session is gone from
// memory and store and starts again from nothing. When it fails (only
// under faults) the session has left memory anyway and no write of it is
// pending: the store keeps a checkpoint of its history no older than the
// last one made durable, and the rest of its history is never written.
func (s *script) delete(op, i int) {
	t := s.t
	ctx, cancel := context.WithTimeout(context.Background(), generous)
	defer cancel()
	err := testmodel.Delete(ctx, s.tr, name(i), s.cfg.BreakerResetTimeout, !s.faulty)
	sp := &s.sessions[i]
	stored, ok := s.store.Get(name(i))
	switch {
	case err == nil:
		if ok {
			t.Fatalf("op %d: stored %s after Delete returned nil: %+v, want nothing", op, name(i), stored)
		}
		*sp = scriptSession{}
		return
	case !s.faulty:
		t.Fatalf("op %d: Delete(%s) with no fault injected: %v", op, name(i), err)
	case !errors.Is(err, core.ErrRetryable) && !errors.Is(err, core.ErrPermanent):
		t.Fatalf("op %d: Delete(%s): got %v, want nil or an error wrapping the backend's", op, name(i), err)
	}
	seq := stored.Seq
	if seq < sp.durable || seq > sp.Seq() || (seq > 0 && (stored.Session != name(i) || stored.EventID != sp.History[seq-1])) {
		t.Fatalf("op %d: stored %s after a failed Delete: %+v, want a checkpoint of its history from seq %d to %d", op, name(i), stored, sp.durable, sp.Seq())
	}
	var ids []string
	if seq > 0 {
		// Written in the background under faults, the stored window is
		// one the model cannot predict exactly: it must name accepted IDs
		// in order, and it is what a later Resume seeds.
		var err error
		if ids, err = testmodel.StoredIDs(stored.Window, sp.History, seq); err != nil {
			t.Fatalf("op %d: stored %s after a failed Delete: %+v: %v", op, name(i), stored, err)
		}
		if seq == sp.durable && !slices.Equal(ids, sp.Stored) {
			t.Fatalf("op %d: stored window of %s: got %v, want the durable %v", op, name(i), ids, sp.Stored)
		}
	}
	sp.leave(seq, ids)
}

// checkReads compares Checkpoint, LastEventID and Sessions with the model:
// nothing for a session not in memory; otherwise its newest ID, with a Seq
// testmodel.MemorySeqs allows.
func (s *script) checkReads(op int) {
	live := 0
	for i := range s.sessions {
		sp := &s.sessions[i]
		cp, ok := s.tr.Checkpoint(name(i))
		wantID := sp.Last()
		if !sp.inMemory {
			wantID = ""
			if cp != (core.Checkpoint{}) || ok {
				s.t.Fatalf("op %d: Checkpoint(%s) of a session not in memory: got (%+v, %t), want nothing", op, name(i), cp, ok)
			}
		} else {
			live++
			seqs := testmodel.MemorySeqs(sp.Seq(), sp.base, sp.adopted)
			switch {
			case sp.Seq() == 0:
				s.wantCheckpoint(op, "Checkpoint", i, cp, ok)
			case !slices.Contains(seqs, cp.Seq) || !ok || cp != (core.Checkpoint{Session: name(i), EventID: wantID, Seq: cp.Seq}):
				s.t.Fatalf("op %d: Checkpoint(%s): got (%+v, %t), want seq in %v ID %q", op, name(i), cp, ok, seqs, wantID)
			}
		}
		id, ok := s.tr.LastEventID(name(i))
		if id != wantID || ok != (wantID != "") {
			s.t.Fatalf("op %d: LastEventID(%s): got (%q, %t), want (%q, %t)", op, name(i), id, ok, wantID, wantID != "")
		}
	}
	if got := s.tr.Sessions(); got != live {
		s.t.Fatalf("op %d: Sessions(): got %d, want %d", op, got, live)
	}
}

func (s *script) wantCheckpoint(op int, what string, i int, cp core.Checkpoint, ok bool) {
	sp := &s.sessions[i]
	want := core.Checkpoint{Session: name(i), EventID: sp.Last(), Seq: sp.Seq()}
	if sp.Seq() == 0 {
		want = core.Checkpoint{}
		if cp.Session != "" { // Resume names the session even with nothing stored
			want.Session = name(i)
		}
	}
	if cp != want || ok != (sp.Seq() > 0) {
		s.t.Fatalf("op %d: %s(%s): got (%+v, %t), want (%+v, %t)", op, what, name(i), cp, ok, want, sp.Seq() > 0)
	}
}

// want is the stored checkpoint the model expects of session i once its
// newest checkpoint is written: with the last s.persist IDs of its window.
func (s *script) want(i int) core.Checkpoint {
	sp := &s.sessions[i]
	cp := core.Checkpoint{Session: name(i), EventID: sp.Last(), Seq: sp.Seq()}
	if s.persist > 0 {
		if !sp.inMemory {
			cp.Window = testmodel.WindowOf(sp.Stored)
		} else {
			cp.Window = testmodel.WindowOf(sp.Window[max(len(sp.Window)-s.persist, 0):])
		}
	}
	return cp
}

// checkStored requires the store to hold exactly the model's newest
// checkpoint of every session, windows included, once a Flush returned nil
// or a Close: every entry in memory has adopted by then.
func (s *script) checkStored(when string) {
	for i := range s.sessions {
		sp := &s.sessions[i]
		sp.adopt(s.cfg.Window)
		got, ok := s.store.Get(name(i))
		want := s.want(i)
		if sp.Seq() == 0 {
			if ok {
				s.t.Fatalf("%s: stored %s: got %+v, want nothing", when, name(i), got)
			}
			continue
		}
		if got != want {
			s.t.Fatalf("%s: stored %s: got %+v, want %+v", when, name(i), got, want)
		}
	}
	for i := range s.sessions {
		s.sessions[i].stored(s.cfg.Window, s.persist)
	}
}

// finish heals the store; a Flush must then store every newest
// checkpoint, and the checker must confirm it.
func (s *script) finish() {
	s.setFaults(0)
	if err := s.flush(); err != nil {
		s.t.Fatalf("final Flush after healing: %v", err)
	}
	s.checkStored("after the final Flush")
	want := make(map[string]core.Checkpoint)
	for i := range s.sessions {
		if sp := &s.sessions[i]; sp.Seq() > 0 {
			want[name(i)] = s.want(i)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), generous)
	defer cancel()
	if err := s.checker.Verify(ctx, want); err != nil {
		s.t.Fatalf("fault.Checker.Verify: %v", err)
	}
}

// close releases the tracker whatever happened, so no flusher outlives the
// input.
func (s *script) close() {
	if s.tr == nil {
		return
	}
	_ = s.faults.Set(fault.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), generous)
	defer cancel()
	_ = s.tr.Close(ctx)
}
