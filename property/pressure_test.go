package property

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"
	"github.com/leanovate/gopter/prop"

	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/internal/testmodel"
	"github.com/lastevent/lastevent/shard"
)

const (
	// pressureSessions session names share pressureLimit places in memory
	// (Config.MaxSessions), so the flushers evict under pressure.
	pressureSessions = 8
	pressureLimit    = 4
	pressureOps      = 60
)

// TestTrackerUnderMaxSessions runs random scripts of Observe, Flush, Resume
// and reads on a Tracker with MaxSessions 4 and 8 sessions, on a healthy
// backend. Which clean session the flushers evict, and when, is not
// determinate (CLOCK order, racing the script), so the model keeps, per
// session, every state the tracker may hold it in (candidate) and narrows
// them with every answer: an answer no candidate explains fails. Determinate
// facts are checked exactly: a session with an unstored event is in memory
// (never evicted, never ErrTooManySessions) with its exact dedup window once
// the answers have told its history apart; Resume returns the stored
// checkpoint; LastEventID, when reported, is the newest accepted ID; after
// Flush the backend holds every session's newest ID with Seq = its number
// of accepted events; nothing stored ever moves backwards; Sessions() never
// exceeds the limit.
func TestTrackerUnderMaxSessions(t *testing.T) {
	params := gopter.DefaultTestParametersWithSeed(*seedFlag)
	params.MinSuccessfulTests = max(*casesFlag*5, 1) // a script takes a few milliseconds
	params.MaxSize = pressureOps
	props := gopter.NewProperties(params)
	props.Property("tracker under MaxSessions == every state the model allows", prop.ForAll(
		// Logs, not sizes: gopter shrinks a mapped value without its map.
		func(windowLog, shardsLog int, ops []int) string { return runPressure(1<<windowLog, 1<<shardsLog, ops) },
		gen.IntRange(0, 3),
		gen.IntRange(0, 1),
		gen.SliceOf(gen.IntRange(0, 1<<14)),
	))
	pressureSeen = pressureCoverage{}
	if !props.Run(gopter.NewFormatedReporter(true, 160, testWriter{t})) {
		t.Errorf("falsified (the shrunk script is logged above: log2 window, log2 shards, ops); reproduce with:\n"+
			"\tgo test -race ./property -run '^%s$' -property.seed=%d", t.Name(), params.Seed())
		return
	}
	// The scripts must reach what the test is about, or it proves nothing.
	if pressureSeen.refused == 0 || pressureSeen.evicted == 0 {
		t.Errorf("scripts never reached the limit: %d ErrTooManySessions, %d sessions seen evicted", pressureSeen.refused, pressureSeen.evicted)
	}
	t.Logf("%d ErrTooManySessions, %d sessions seen evicted", pressureSeen.refused, pressureSeen.evicted)
}

// pressureCoverage counts, over a run, the answers only pressure causes.
type pressureCoverage struct{ refused, evicted int }

// pressureSeen is written by the property's sequential scripts only.
var pressureSeen pressureCoverage

// candidate is one state the tracker may hold a session in.
type candidate struct {
	present bool // in memory
	// Session's Window is the entry's dedup window; its History, the same
	// in every candidate, is the session's accepted IDs.
	testmodel.Session
	// base: an entry not yet adopted reports Seq() - base (provisional).
	base uint64
}

func (c candidate) key() string {
	return fmt.Sprintf("%t/%d/%s/%s", c.present, c.base, strings.Join(c.Window, ","), strings.Join(c.Stored, ","))
}

// pressureSession is the model of one session: the states it may be in.
type pressureSession struct {
	cands []candidate
	// dirty: an accepted event is not yet stored, so the session is in
	// memory and cannot be evicted.
	dirty bool
}

func (s *pressureSession) hist() *testmodel.Session { return &s.cands[0].Session }

// keep narrows the candidates to those ok accepts (after updating each
// with ok), deduplicated; false if none is left.
func (s *pressureSession) keep(ok func(c *candidate) bool) bool {
	var out []candidate
	seen := map[string]bool{}
	for _, c := range s.cands {
		c.Session = c.Clone()
		if ok(&c) && !seen[c.key()] {
			seen[c.key()] = true
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return false
	}
	s.cands = out
	return true
}

// mayLeave adds the states a clean session may reach at any moment:
// evicted (window forgotten, numbering on top of its stored Seq and the
// stored window below its own once adopted). An Observe racing the
// eviction revives the entry with its whole window and Seq carried over,
// which is the state it was in: no candidate of its own.
func (s *pressureSession) mayLeave() {
	if s.dirty {
		return
	}
	for _, c := range s.cands {
		if c.present {
			gone := candidate{Session: c.Clone(), base: c.Seq()}
			gone.Forget() // Stored is what its last Flush persisted
			s.cands = append(s.cands, gone)
		}
	}
	s.keep(func(*candidate) bool { return true })
}

// adopt is the entry of a present candidate taking its stored history, if
// it has not yet: the stored window below its own, Seq no longer
// provisional.
func (c *candidate) adopt(window int) {
	if c.present && c.base > 0 {
		c.Adopt(window)
	}
	c.base = 0
}

// runPressure runs one script and returns "" or what went wrong.
func runPressure(window, shards int, ops []int) (failure string) {
	store := memory.New()
	rec := newRecorder(store)
	tr, err := shard.New(rec, shard.Config{Window: window, Shards: shards, MaxSessions: pressureLimit,
		FlushInterval: time.Hour, MaxBatch: 256, StoreTimeout: generous, Logger: quietLogger()})
	if err != nil {
		return fmt.Sprintf("New: %v", err)
	}
	ctx, cancel := contextWithTimeout(generous)
	defer cancel()
	defer func() {
		if err := tr.Close(ctx); err != nil && failure == "" {
			failure = fmt.Sprintf("Close: %v", err)
		}
	}()
	var model [pressureSessions]pressureSession
	for i := range model {
		model[i].cands = []candidate{{}}
	}
	fresh := 0
	var trace []string // the script so far, decoded, for the failure message
	for n, v := range ops {
		kind, i, arg := v%16, v/16%pressureSessions, v/128
		s := &model[i]
		name := "s" + strconv.Itoa(i)
		var did, problem string
		switch {
		case kind < 10:
			s.mayLeave()
			did, problem = observePressure(tr, s, name, pressureID(s, arg, &fresh), window)
		case kind < 13:
			did, problem = flushPressure(ctx, tr, &model, store, window)
		default:
			s.mayLeave()
			did, problem = resumePressure(ctx, tr, s, name, window)
		}
		trace = append(trace, did)
		if problem == "" {
			problem = checkPressureReads(tr, &model, rec)
		}
		if problem != "" {
			return fmt.Sprintf("op %d: %s\n\tscript: [%s]", n, problem, strings.Join(trace, "; "))
		}
	}
	return ""
}

// pressureID picks a fresh ID, one in some candidate's window, the newest
// accepted one, or any old one.
func pressureID(s *pressureSession, arg int, fresh *int) string {
	h := s.hist()
	win := s.cands[arg%len(s.cands)].Window
	switch n := len(h.History); {
	case n == 0 || arg%4 == 0:
	case arg%4 == 1 && len(win) > 0:
		return win[arg%len(win)]
	case arg%4 == 2:
		return h.Last()
	default:
		return h.History[arg%n]
	}
	*fresh++
	return "e" + strconv.Itoa(*fresh)
}

// observePressure runs Observe and narrows the session's candidates to
// those that explain the answer. It returns the call as done, and what is
// wrong ("" if nothing).
func observePressure(tr *shard.Tracker, s *pressureSession, name, id string, window int) (did, problem string) {
	accepted, err := tr.Observe(name, id)
	did = fmt.Sprintf("Observe(%s, %s) = (%t, %v)", name, id, accepted, err)
	var why string
	var ok bool
	switch {
	case errors.Is(err, shard.ErrTooManySessions):
		pressureSeen.refused++
		why, ok = "but the session may be in memory only", s.keep(func(c *candidate) bool { return !c.present })
	case err != nil:
		why = "want no error"
	case accepted:
		s.dirty = true
		why, ok = "a duplicate in every state the session may be in", s.keep(func(c *candidate) bool {
			if !c.present {
				c.present = true // a new entry: empty window, provisional Seq
				c.Forget()
			}
			return c.Observe(id, window)
		})
	default:
		why, ok = "not a duplicate in any state the session may be in", s.keep(func(c *candidate) bool {
			return c.present && slices.Contains(c.Window, id)
		})
	}
	if ok {
		return did, ""
	}
	return did, did + ": " + why
}

// flushPressure: Flush must succeed (the backend is healthy) and leave the
// backend holding every session's newest ID with its global Seq.
func flushPressure(ctx context.Context, tr *shard.Tracker, model *[pressureSessions]pressureSession, store *memory.Backend, window int) (did, problem string) {
	if err := tr.Flush(ctx); err != nil {
		return "Flush", fmt.Sprintf("Flush = %v, want nil", err)
	}
	for i := range model {
		s := &model[i]
		s.dirty = false
		got, ok := store.Get("s" + strconv.Itoa(i))
		s.keep(func(c *candidate) bool {
			if !c.present {
				return true
			}
			c.adopt(window) // a flusher adopts an entry before its first write
			c.Persist(window)
			// Written with its window: the stored one tells the
			// candidates apart.
			return !ok || got.Window == testmodel.WindowOf(c.Stored)
		})
		h := s.hist()
		if ok != (h.Seq() > 0) || got.EventID != h.Last() || got.Seq != h.Seq() {
			return "Flush", fmt.Sprintf("after Flush: stored s%d = (%+v, %t), want ID %q seq %d", i, got, ok, h.Last(), h.Seq())
		}
		if ok && !slices.ContainsFunc(s.cands, func(c candidate) bool { return got.Window == testmodel.WindowOf(c.Stored) }) {
			return "Flush", fmt.Sprintf("after Flush: stored s%d window %v is no candidate's last %d IDs", i, got.Window, window)
		}
	}
	return "Flush", ""
}

// resumePressure runs Resume: the stored checkpoint, or ErrTooManySessions
// for a session that may be out of memory.
func resumePressure(ctx context.Context, tr *shard.Tracker, s *pressureSession, name string, window int) (did, problem string) {
	cp, err := testmodel.Resume(ctx, tr, name, time.Millisecond, true)
	h := s.hist()
	did = fmt.Sprintf("Resume(%s) = (%s@%d, %v)", name, cp.EventID, cp.Seq, err)
	want := fmt.Sprintf("%s: want %s@%d", did, h.Last(), h.Seq())
	switch {
	case errors.Is(err, shard.ErrTooManySessions):
		if !s.keep(func(c *candidate) bool { return !c.present }) {
			return did, want + ": the session is in memory"
		}
		return did, ""
	case err != nil || cp.EventID != h.Last() || cp.Seq != h.Seq():
		return did, want
	}
	s.keep(func(c *candidate) bool {
		if !c.present {
			c.present = true
			c.Reload(window)
		}
		c.adopt(window)
		return true
	})
	return did, ""
}

// checkPressureReads narrows every session's candidates with its
// Checkpoint, and checks LastEventID, Sessions() and the recorder.
func checkPressureReads(tr *shard.Tracker, model *[pressureSessions]pressureSession, rec *recorder) (problem string) {
	written, violations := rec.take()
	if len(violations) > 0 {
		return strings.Join(violations, "; ")
	}
	for _, cp := range written {
		i, err := strconv.Atoi(strings.TrimPrefix(cp.Session, "s"))
		if err != nil || i < 0 || i >= pressureSessions {
			return fmt.Sprintf("backend wrote unknown session %q", cp.Session)
		}
		if h := model[i].hist().History; cp.Seq == 0 || cp.Seq > uint64(len(h)) || h[cp.Seq-1] != cp.EventID {
			return fmt.Sprintf("backend wrote %+v, not the model's checkpoint at that seq", cp)
		}
	}
	dirty := 0
	for i := range model {
		s, name := &model[i], "s"+strconv.Itoa(i)
		s.mayLeave()
		h := s.hist()
		if s.dirty {
			dirty++
		}
		cp, ok := tr.Checkpoint(name)
		if !ok && h.Seq() > 0 && s.cands[0].present {
			pressureSeen.evicted++ // it had events in memory, now it is out
		}
		var allowed []string
		for _, c := range s.cands {
			allowed = append(allowed, fmt.Sprintf("present=%t seq=%d", c.present, h.Seq()-c.base))
		}
		if !s.keep(func(c *candidate) bool {
			if !c.present || h.Seq() == c.base {
				return !ok
			}
			return ok && cp.EventID == h.Last() && cp.Seq == h.Seq()-c.base
		}) {
			return fmt.Sprintf("Checkpoint(%s) = (%s@%d, %t): want newest ID %q in one of %v", name, cp.EventID, cp.Seq, ok, h.Last(), allowed)
		}
		if id, ok := tr.LastEventID(name); ok && id != h.Last() {
			return fmt.Sprintf("LastEventID(%s) = %q, want %q", name, id, h.Last())
		}
	}
	if n := tr.Sessions(); n > pressureLimit || n < dirty {
		return fmt.Sprintf("Sessions() = %d, want between %d sessions with unstored events and the limit %d", n, dirty, pressureLimit)
	}
	return ""
}
