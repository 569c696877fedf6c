package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/core"
)

// TestMain fails the package if a run leaves a goroutine behind: workers,
// the progress printer and the tracker's flushers must all have stopped.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// smallConfig is the default scenario shrunk to run in about a second:
// 20 sessions x 50 events/s, so each session has ~5 events per flush
// interval to coalesce.
func smallConfig() config {
	cfg := defaultConfig()
	cfg.Sessions, cfg.Rate, cfg.Duration = 20, 50, time.Second
	return cfg
}

func TestRunSmallScenario(t *testing.T) {
	cfg := smallConfig()
	r, err := run(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if r.EventsObserved == 0 {
		t.Fatalf("events observed: got 0, want > 0")
	}
	if got, want := r.EventsAccepted+r.EventsDeduplicated, r.EventsObserved; got != want {
		t.Errorf("accepted+deduplicated: got %d, want %d (events observed)", got, want)
	}
	if got, want := r.EventsObserved+r.EventsDroppedByGenerator, r.EventsRequested; got != want {
		t.Errorf("observed+dropped: got %d, want %d (events requested)", got, want)
	}
	if r.EventsDeduplicated == 0 {
		t.Errorf("events deduplicated: got 0, want > 0 with dup ratio %v", cfg.DupRatio)
	}
	if r.DedupErrors != 0 || r.ObserveErrors != 0 {
		t.Errorf("dedup errors %d, observe errors %d: want 0, 0 (first failure: %s)", r.DedupErrors, r.ObserveErrors, r.FirstFailure)
	}
	if r.SessionsLost != 0 {
		t.Errorf("sessions lost: got %d, want 0 (first failure: %s)", r.SessionsLost, r.FirstFailure)
	}
	if r.CheckpointRegressions != 0 {
		t.Errorf("checkpoint regressions: got %d, want 0", r.CheckpointRegressions)
	}
	if r.UnknownSessionWrites != 0 {
		t.Errorf("writes of unknown sessions: got %d, want 0", r.UnknownSessionWrites)
	}
	if r.PersistenceSuccessRatio != 1 {
		t.Errorf("persistence success ratio: got %v, want 1", r.PersistenceSuccessRatio)
	}
	if r.CloseError != "" {
		t.Errorf("close: got error %q, want none", r.CloseError)
	}
	if r.SessionsInTracker != cfg.Sessions {
		t.Errorf("sessions in tracker: got %d, want %d", r.SessionsInTracker, cfg.Sessions)
	}
	if r.BackendWrites >= r.EventsAccepted {
		t.Errorf("backend writes: got %d, want fewer than the %d accepted events (coalescing)", r.BackendWrites, r.EventsAccepted)
	}
	if r.WritesPerAccepted > r.WritesPerAcceptedBound {
		t.Errorf("writes per accepted event: got %.3f, want <= %.3f", r.WritesPerAccepted, r.WritesPerAcceptedBound)
	}
	if r.ObserveSamples != r.EventsObserved {
		t.Errorf("timed Observe calls: got %d, want every one of %d at this rate", r.ObserveSamples, r.EventsObserved)
	}
	if !r.CorrectnessOK {
		t.Errorf("correctness verdict: got FAIL, want PASS; checks: %+v", r.Checks)
	}

	var table bytes.Buffer
	r.writeTable(&table)
	for _, want := range []string{"Measured against our targets", "Goroutine spawn rate", "Memory per session",
		"Backend writes / accepted", "Persistence success", "Observe latency p99", "correctness: PASS"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
}

func TestJSONHasEveryKey(t *testing.T) {
	cfg := smallConfig()
	cfg.Sessions, cfg.Duration = 4, 200*time.Millisecond
	r, err := run(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	var out bytes.Buffer
	if err := r.writeJSON(&out); err != nil {
		t.Fatalf("writeJSON: %v", err)
	}
	var got map[string]any
	dec := json.NewDecoder(&out)
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("JSON output does not parse: %v\n%s", err, out.String())
	}
	if dec.More() {
		t.Errorf("JSON output: got more than one value, want one object")
	}
	for _, key := range []string{
		"sessions", "events_observed", "events_accepted", "events_deduplicated", "backend_writes",
		"goroutines_created_per_sec", "bytes_per_session", "observe_p50_ns", "observe_p99_ns",
		"sessions_lost", "checkpoint_regressions", "persistence_success_ratio",
		"target_rate", "achieved_rate", "duration_s", "flush_interval_ms", "writes_per_accepted",
		"writes_per_accepted_bound", "keeping_up", "dedup_errors", "events_dropped_by_generator",
		"correctness_ok", "checks",
	} {
		if _, ok := got[key]; !ok {
			t.Errorf("JSON key %q: missing", key)
		}
	}
	if n, _ := got["events_observed"].(float64); uint64(n) != r.EventsObserved {
		t.Errorf("JSON events_observed: got %v, want %d", got["events_observed"], r.EventsObserved)
	}
	if n, _ := got["sessions"].(float64); int(n) != cfg.Sessions {
		t.Errorf("JSON sessions: got %v, want %d", got["sessions"], cfg.Sessions)
	}
}

// acceptAll is a broken tracker: it never reports a duplicate.
type acceptAll struct{}

func (acceptAll) Observe(string, string) (bool, error) { return true, nil }

// refuseAll is a broken tracker: it reports every event a duplicate.
type refuseAll struct{}

func (refuseAll) Observe(string, string) (bool, error) { return false, nil }

type failAll struct{}

func (failAll) Observe(string, string) (bool, error) { return false, errors.New("boom") }

func TestWorkerReportsDedupErrors(t *testing.T) {
	const events = 200
	for _, tc := range []struct {
		name string
		obs  observer
	}{{"accept-all", acceptAll{}}, {"refuse-all", refuseAll{}}, {"fail-all", failAll{}}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := smallConfig()
			cfg.DupRatio = 0.5
			w := newWorker(make([]session, 2), tc.obs, cfg, 0, 0)
			for range events {
				w.emit()
			}
			c := w.counts
			if c.observed != events {
				t.Fatalf("observed: got %d, want %d", c.observed, events)
			}
			switch tc.obs.(type) {
			case acceptAll:
				// Every replayed duplicate is an error; new IDs are fine.
				if c.dedupErrors == 0 || c.dedupErrors == events {
					t.Errorf("dedup errors: got %d, want some but not all of %d (the duplicates)", c.dedupErrors, events)
				}
			case refuseAll:
				// Every new ID is an error; at least each session's first.
				if c.dedupErrors < 2 || c.dedupErrors == events {
					t.Errorf("dedup errors: got %d, want some but not all of %d (the new IDs)", c.dedupErrors, events)
				}
			case failAll:
				if c.observeErrors != events {
					t.Errorf("observe errors: got %d, want %d", c.observeErrors, events)
				}
			}
			if w.failure == "" {
				t.Errorf("first failure: got none, want a description")
			}
		})
	}
}

func TestWorkerDuplicatesStayInWindow(t *testing.T) {
	cfg := smallConfig()
	cfg.Window, cfg.DupRatio = 4, 0.5
	rec := &recorder{}
	w := newWorker(make([]session, 1), rec, cfg, 0, 0)
	for range 1000 {
		w.emit()
	}
	var newest uint64
	dups := 0
	for _, id := range rec.ids {
		switch {
		case id == newest+1:
			newest = id
		case id <= newest && newest-id < uint64(cfg.Window):
			dups++
		default:
			t.Fatalf("event ID %d after newest %d: want newest+1 or one of the last %d", id, newest, cfg.Window)
		}
	}
	if dups == 0 {
		t.Errorf("duplicates: got 0 of %d events, want about half", len(rec.ids))
	}
}

// recorder accepts each ID the first time it is seen.
type recorder struct {
	ids  []uint64
	seen map[string]bool
}

func (r *recorder) Observe(_, id string) (bool, error) {
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	var n uint64
	for _, c := range id {
		n = 10*n + uint64(c-'0')
	}
	r.ids = append(r.ids, n)
	dup := r.seen[id]
	r.seen[id] = true
	return !dup, nil
}

// A worker that falls far behind its schedule skips what is more than maxLag
// overdue instead of sending the whole backlog.
func TestWorkerSkipsOverdueEvents(t *testing.T) {
	cfg := smallConfig()
	cfg.Rate = 1000
	w := newWorker(make([]session, 1), &recorder{}, cfg, 0, 0)
	start := time.Now().Add(-time.Second) // a whole second behind
	if over := w.catchUp(context.Background(), start, time.Second); !over {
		t.Errorf("catchUp after the run's duration: got not over, want over")
	}
	if got, want := w.counts.observed+w.counts.dropped, uint64(1000); got != want {
		t.Errorf("observed+dropped: got %d, want %d (the events due in 1s)", got, want)
	}
	if maxSent := uint64(cfg.Rate * maxLag.Seconds()); w.counts.observed > maxSent {
		t.Errorf("events sent late: got %d, want at most %d (maxLag worth)", w.counts.observed, maxSent)
	}
}

func TestVerifyPersistedCountsLostSessions(t *testing.T) {
	mem := memory.New()
	sessions := []session{
		{name: sessionName(0), lastAccepted: 7, accepted: 7},
		{name: sessionName(1), lastAccepted: 3, accepted: 3},
		{name: sessionName(2), lastAccepted: 5, accepted: 5},
		{name: sessionName(3)}, // accepted nothing: must have no checkpoint
	}
	results := make([]core.Result, 3)
	mem.Store(context.Background(), []core.Checkpoint{
		{Session: sessionName(0), EventID: "7", Seq: 7}, // correct
		{Session: sessionName(1), EventID: "2", Seq: 2}, // stale: lost the newest
		{Session: sessionName(3), EventID: "1", Seq: 1}, // should not exist
	}, results) // sessionName(2) was never stored
	lost, first := verifyPersisted(sessions, mem.Get)
	if lost != 3 {
		t.Errorf("sessions lost: got %d, want 3", lost)
	}
	if !strings.Contains(first, sessionName(1)) {
		t.Errorf("first lost session: got %q, want it to name %s", first, sessionName(1))
	}
}

func TestCheckingBackendCountsRegressions(t *testing.T) {
	b := newCheckingBackend(memory.New(), 2)
	store := func(cps ...core.Checkpoint) {
		b.Store(context.Background(), cps, make([]core.Result, len(cps)))
	}
	s0, s1 := sessionName(0), sessionName(1)
	store(core.Checkpoint{Session: s0, EventID: "5", Seq: 5}, core.Checkpoint{Session: s1, EventID: "1", Seq: 1})
	store(core.Checkpoint{Session: s0, EventID: "5", Seq: 5}) // a retry of the same Seq is fine
	if got := b.regressions.Load(); got != 0 {
		t.Fatalf("regressions after increasing Seqs: got %d, want 0", got)
	}
	store(core.Checkpoint{Session: s0, EventID: "3", Seq: 3})
	if got := b.regressions.Load(); got != 1 {
		t.Errorf("regressions after Seq 5 then 3: got %d, want 1", got)
	}
	store(core.Checkpoint{Session: "other", EventID: "1", Seq: 1}, core.Checkpoint{Session: sessionName(2), EventID: "1", Seq: 1})
	if got := b.unknown.Load(); got != 2 {
		t.Errorf("writes of unknown sessions: got %d, want 2", got)
	}
	if got, want := b.written.Load(), uint64(4); got != want {
		t.Errorf("written: got %d, want %d (two first writes and the two unknown sessions)", got, want)
	}
}

func TestSessionIndexRoundTrip(t *testing.T) {
	for _, i := range []int{0, 7, 99999} {
		if got, ok := sessionIndex(sessionName(i)); !ok || got != i {
			t.Errorf("sessionIndex(%q): got %d, %v, want %d, true", sessionName(i), got, ok, i)
		}
	}
	for _, name := range []string{"other", "session-", "session-x", "session-01", "session--1"} {
		if _, ok := sessionIndex(name); ok {
			t.Errorf("sessionIndex(%q): got ok, want not a generated session", name)
		}
	}
}

func TestEvaluateOnlyCorrectnessDecidesExit(t *testing.T) {
	healthy := func() *report {
		return &report{Sessions: 10, PersistenceSuccessRatio: 1, KeepingUp: true, TargetRate: 1, AchievedRate: 1}
	}
	slow := healthy()
	slow.KeepingUp, slow.AchievedRate = false, 0.3
	slow.ObserveP99NS = int64(time.Second)
	slow.evaluate()
	if !slow.CorrectnessOK || slow.PerformanceOK {
		t.Errorf("slow run verdict: got correctness %v performance %v, want true false", slow.CorrectnessOK, slow.PerformanceOK)
	}
	for name, breakIt := range map[string]func(*report){
		"lost":        func(r *report) { r.SessionsLost, r.PersistenceSuccessRatio = 1, 0.9 },
		"regression":  func(r *report) { r.CheckpointRegressions = 1 },
		"dedup":       func(r *report) { r.DedupErrors = 1 },
		"observe":     func(r *report) { r.ObserveErrors = 1 },
		"close error": func(r *report) { r.CloseError = "unflushed" },
	} {
		r := healthy()
		breakIt(r)
		r.evaluate()
		if r.CorrectnessOK {
			t.Errorf("%s: correctness verdict: got PASS, want FAIL", name)
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		v := rng.Uint64() >> rng.IntN(64)
		b := bucketOf(v)
		if up := bucketUpper(b); up < v {
			t.Fatalf("bucket of %d ends at %d, below the value", v, up)
		}
		if b > 0 && bucketUpper(b-1) >= v {
			t.Fatalf("value %d fits the bucket below its own (%d ends at %d)", v, b-1, bucketUpper(b-1))
		}
	}
	var h histogram
	for v := 1; v <= 100_000; v++ {
		h.record(time.Duration(v))
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50_000}, {0.99, 99_000}, {1, 100_000}} {
		got := h.quantile(tc.q)
		if got < tc.want || float64(got) > float64(tc.want)*(1+1.0/subBuckets) {
			t.Errorf("quantile(%v): got %v, want %v to %v", tc.q, got, tc.want, time.Duration(float64(tc.want)*(1+1.0/subBuckets)))
		}
	}
}

func TestGoroutinesCreatedSeesNewGoroutines(t *testing.T) {
	before, ok := goroutinesCreated()
	if !ok {
		t.Skipf("runtime lacks %s", goroutinesCreatedMetric)
	}
	done := make(chan struct{})
	for range 10 {
		go func() { done <- struct{}{} }()
	}
	for range 10 {
		<-done
	}
	after, _ := goroutinesCreated()
	if after-before < 10 {
		t.Errorf("goroutines created: got %d more, want at least 10", after-before)
	}
}

func TestParseFlags(t *testing.T) {
	cfg, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if cfg.Sessions != 100 || cfg.Rate != 10 || cfg.Duration != 10*time.Second || cfg.DupRatio != 0.1 ||
		cfg.Window != 128 || cfg.Shards != 0 || cfg.FlushInterval != 100*time.Millisecond || cfg.JSON {
		t.Errorf("defaults: got %+v, want the default scenario (100 x 10/s for 10s, 10%% dups, window 128, 100ms)", cfg)
	}
	cfg, err = parseFlags([]string{"-json", "-duration", "3s", "-sessions", "100000", "-rate", "100"}, io.Discard)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if !cfg.JSON || cfg.Duration != 3*time.Second || cfg.Sessions != 100000 || cfg.Rate != 100 {
		t.Errorf("parsed: got %+v", cfg)
	}
	for _, args := range [][]string{{"-window", "100"}, {"-sessions", "0"}, {"-dup-ratio", "2"}, {"-rate", "0"}, {"-flush-interval", "0s"}} {
		if _, err := parseFlags(args, io.Discard); err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("parseFlags(%q): got %v, want an error naming %s", args, err, args[0])
		}
	}
	var help bytes.Buffer
	if _, err := parseFlags([]string{"-h"}, &help); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: got %v, want flag.ErrHelp", err)
	}
	if !strings.Contains(help.String(), "Exit status") {
		t.Errorf("-h output lacks the exit status section:\n%s", help.String())
	}
}

// honest answers like a tracker with an unbounded window, without
// allocating once a session is known.
type honest map[string]uint64

func (h honest) Observe(session, id string) (bool, error) {
	n, _ := strconv.ParseUint(id, 10, 64)
	if n <= h[session] {
		return false, nil
	}
	h[session] = n
	return true, nil
}

func TestEmitAllocatesOnlyTheEventID(t *testing.T) {
	sessions := make([]session, 4)
	obs := honest{}
	for i := range sessions {
		sessions[i].name = sessionName(i)
		obs[sessions[i].name] = 0
	}
	w := newWorker(sessions, obs, smallConfig(), 0, 0)
	for range 1000 { // past the one-byte IDs, which Go does not allocate
		w.emit()
	}
	if got := testing.AllocsPerRun(1000, w.emit); got > 1 {
		t.Errorf("allocations per event: got %v, want at most 1 (the event ID string)", got)
	}
	if w.counts.dedupErrors != 0 {
		t.Errorf("dedup errors against an honest tracker: got %d, want 0 (%s)", w.counts.dedupErrors, w.failure)
	}
}
