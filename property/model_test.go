package property

import (
	"errors"
	"fmt"
	"strings"

	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/internal/testmodel"
)

// poolSize is the number of sessions a command sequence uses: few enough
// that sequences revisit sessions (duplicates, window edges, restarts), more
// than one so that sessions sharing a shard and a flush are exercised.
const poolSize = 4

// caseConfig is the part of the initial state that configures the Tracker.
type caseConfig struct {
	window int
	shards int
	// persist is Config.PersistWindow as the tracker applies it: the recent
	// IDs a written checkpoint carries, 0 when persisting them is off.
	persist int
	// async: flushers also write on their own (FlushInterval 1ms, MaxBatch
	// 1), so the stored state changes between commands; otherwise they write
	// only on Flush and Close and the stored state moves only then.
	async bool
}

func (c caseConfig) String() string {
	mode := "manual"
	if c.async {
		mode = "background"
	}
	return fmt.Sprintf("{window=%d persist=%d shards=%d flush=%s}", c.window, c.persist, c.shards, mode)
}

// sessionModel is the sequential specification of one session: its dedup
// window and history (testmodel.Session, History numbered across restarts
// and evictions as the backend numbers it), plus what the tracker holds of
// it.
type sessionModel struct {
	testmodel.Session
	// durable is a lower bound of the stored Seq: what a Flush that returned
	// nil, or a Close, made durable.
	durable  uint64
	inMemory bool // the tracker holds the session (Sessions counts it)
	// adopted says whether the tracker has joined the session to its stored
	// history (Resume, or the Load before its first write).
	adopted adoption
	// base is the stored Seq an entry that has not adopted yet numbers on
	// top of: the session's Seq when it last left memory (evicted, or not
	// resumed after a restart), 0 if it never did. Until adoption the
	// tracker's in-memory Seq is provisional, counted from 1: Seq() - base.
	base uint64
	// former is the newest ID the session had when a Delete last reset it
	// ("" if none): replaying it must start the new history, not be a
	// duplicate.
	former string
}

// adoption is what the model knows about a session's adoption.
type adoption = testmodel.Adoption

const (
	adoptNo    = testmodel.AdoptNo
	adoptMaybe = testmodel.AdoptMaybe
	adoptYes   = testmodel.AdoptYes
)

// faultMode is the fault the backend injects; a fault command replaces the
// previous one.
type faultMode uint8

const (
	healthy faultMode = iota
	// outage: every Store, Load and Delete fails (fault.Backend.StartOutage).
	outage
	// flaky: Store items fail at random — retryable or permanent, throttled
	// calls, partial batches, writes whose reply is lost.
	flaky
	// loadDown: every Load fails; Store works.
	loadDown
)

func (f faultMode) String() string {
	return [...]string{"heal", "outage", "flaky", "load-outage"}[f]
}

// observe is Observe of a valid ID: a duplicate iff the ID is in the window.
func (s *sessionModel) observe(id string, window int) (accepted bool) {
	s.inMemory = true
	return s.Observe(id, window)
}

// memorySeqs is the Seq the tracker may report for the session in memory:
// the Seq once adopted, the provisional count before, either while a
// flusher may be adopting it in the background.
func (s *sessionModel) memorySeqs() []uint64 {
	return testmodel.MemorySeqs(s.Seq(), s.base, s.adopted)
}

// adopt records that the tracker joined the session to its stored history:
// an entry that did not know it yet takes the stored window below its own.
func (s *sessionModel) adopt(window int) {
	if s.adopted != adoptYes {
		s.Adopt(window)
	}
	s.adopted, s.base = adoptYes, 0
}

// leaveMemory is eviction of the session, or a restart that does not
// resume it, once its newest checkpoint is stored: its next plain Observe
// creates an entry with an empty window that numbers on top of base, and
// takes the stored window, only once adopted.
func (s *sessionModel) leaveMemory() {
	s.inMemory, s.adopted, s.base = false, adoptNo, s.Seq()
	s.Forget()
}

// mayAdopt reports whether Observe of id has no single answer: the entry
// may or may not have adopted its stored window in the background, and
// only that window holds id.
func (s *sessionModel) mayAdopt(id string, window int) bool {
	return s.inMemory && s.adopted == adoptMaybe && s.MayAdopt(id, window)
}

// reset is a Delete whose backend delete succeeded: nothing of the session
// is left in memory or in the store, and its next event has Seq 1 (a Load
// before that event's first write finds nothing to number on top of).
func (s *sessionModel) reset() {
	former := s.former
	if s.Seq() > 0 {
		former = s.Last()
	}
	*s = sessionModel{former: former}
}

// expectation is what the model predicts for the last command.
type expectation struct {
	accepted bool
	err      error // a sentinel, or nil
	// resumed is the checkpoint Resume must return (Session is the pool
	// index's name, filled in by the check).
	resumed []modelCheckpoint
	// either: Resume or Delete may fail with err or succeed.
	either bool
	// deleted is the history a Delete reset (nil for other commands):
	// checkpoints the backend wrote before that Delete ran are checked
	// against it.
	deleted []string
}

// allows reports whether a command's error is one the expectation allows:
// nil when it expects none (or either), else one wrapping its sentinel.
func (e expectation) allows(err error) bool {
	if err == nil {
		return e.err == nil || e.either
	}
	return e.err != nil && errors.Is(err, e.err)
}

// errText says which errors the expectation allows.
func (e expectation) errText() string {
	switch {
	case e.err == nil:
		return "nil"
	case e.either:
		return fmt.Sprintf("nil or an error wrapping %v", e.err)
	}
	return fmt.Sprintf("an error wrapping %v", e.err)
}

type modelCheckpoint struct {
	session int
	eventID string
	seq     uint64
}

// trackerModel is the state of a command sequence: the expected Tracker and
// the faults switched on in the backend. NextState clones it, so a state is
// never changed once a command has been generated from it.
type trackerModel struct {
	cfg      caseConfig
	sessions [poolSize]sessionModel
	nextID   int // the next fresh event ID is "e<nextID>"
	fault    faultMode
	expect   expectation
}

func newTrackerModel(cfg caseConfig) *trackerModel { return &trackerModel{cfg: cfg} }

func (m *trackerModel) String() string { return m.cfg.String() }

func (m *trackerModel) clone() *trackerModel {
	c := *m
	for i := range c.sessions {
		c.sessions[i].Session = m.sessions[i].Session.Clone()
	}
	c.expect = expectation{}
	return &c
}

// storeMayFail reports whether the backend may fail a Store item now.
func (m *trackerModel) storeMayFail() bool { return m.fault == outage || m.fault == flaky }

// loadFails reports whether every Load fails now.
func (m *trackerModel) loadFails() bool { return m.fault == outage || m.fault == loadDown }

// dirty reports whether session i may have a checkpoint not yet stored.
func (m *trackerModel) dirty(i int) bool { return m.sessions[i].Seq() > m.sessions[i].durable }

// flushMayFail reports whether some session may be impossible to write now:
// its Store may fail, or it needs a Load (adoption) that fails.
func (m *trackerModel) flushMayFail() bool {
	for i := range m.sessions {
		if m.dirty(i) && (m.storeMayFail() || (m.loadFails() && m.sessions[i].adopted != adoptYes)) {
			return true
		}
	}
	return false
}

func (m *trackerModel) inMemory() int {
	n := 0
	for i := range m.sessions {
		if m.sessions[i].inMemory {
			n++
		}
	}
	return n
}

// checkpoint is session i's newest checkpoint, and whether it has one.
func (m *trackerModel) checkpoint(i int) modelCheckpoint {
	s := &m.sessions[i]
	return modelCheckpoint{session: i, eventID: s.Last(), seq: s.Seq()}
}

// storedAll is what a Flush that returned nil, or a Close, leaves: every
// session in memory adopted (the flusher adopts a session before its first
// write), and every session's newest checkpoint durable with the last
// persist IDs of its window.
func (m *trackerModel) storedAll() {
	for i := range m.sessions {
		s := &m.sessions[i]
		s.durable = s.Seq()
		if s.inMemory {
			s.adopt(m.cfg.window)
			s.Persist(m.cfg.persist)
		}
	}
}

// storedWindow is the window session i's newest checkpoint carries once
// stored: the last persist IDs of its window, adopted (a flusher adopts an
// entry before its first write), or the stored one of a session out of
// memory.
func (m *trackerModel) storedWindow(i int) core.Window {
	s := &m.sessions[i]
	if m.cfg.persist == 0 || s.Seq() == 0 {
		return ""
	}
	ids := s.Stored
	if s.inMemory {
		win := s.Window
		if s.adopted != adoptYes {
			win = s.Merged(m.cfg.window)
		}
		ids = win[max(len(win)-m.cfg.persist, 0):]
	}
	return testmodel.WindowOf(ids)
}

// healStoreAndLeave is Evict and the Close of a restart: the backend
// healed, everything stored, every session out of memory.
func (m *trackerModel) healStoreAndLeave() {
	m.fault = healthy
	m.storedAll()
	for i := range m.sessions {
		m.sessions[i].leaveMemory()
	}
}

// sameCheckpoint compares a checkpoint, without its window, with the
// model's.
func sameCheckpoint(got core.Checkpoint, want modelCheckpoint, name string) bool {
	if want.seq == 0 {
		return got.Seq == 0 && got.EventID == ""
	}
	return got.Session == name && got.EventID == want.eventID && got.Seq == want.seq
}

// shortID prints long IDs compactly so a shrunk case stays readable.
func shortID(id string) string {
	if len(id) > 24 {
		return fmt.Sprintf("%q…(%d bytes)", id[:8], len(id))
	}
	if strings.ContainsFunc(id, func(r rune) bool { return r < ' ' || r == 0xfffd }) {
		return fmt.Sprintf("%q", id)
	}
	return id
}
