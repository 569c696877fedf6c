package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// The review's targets ("Success Criteria" and "Current Performance Profile").
const (
	targetGoroutinesPerSec = 10                    // "Task spawn rate: < 10 tasks/second"
	targetBytesPerSession  = 5 * 1024              // "Memory per session: < 5KB"
	targetPersistence      = 0.999                 // "Persistence success rate: > 99.9%"
	targetP99              = 10 * time.Millisecond // "P99 latency: < 10ms for event processing"
	keepingUpShare         = 0.99                  // events sent / events due, to call a run keeping up
)

// report is the outcome of one run: the scenario, what was measured, the
// correctness checks and the verdict. It is printed as the review's table or
// as JSON (snake_case keys).
type report struct {
	// Scenario.
	Sessions        int     `json:"sessions"`
	RatePerSession  float64 `json:"rate_per_session"`
	TargetRate      float64 `json:"target_rate"` // events/s requested over all sessions
	DurationS       float64 `json:"duration_s"`  // requested
	ElapsedS        float64 `json:"elapsed_s"`   // measured window: release of the workers to the last one's return
	DupRatio        float64 `json:"dup_ratio"`
	Window          int     `json:"window"`
	Shards          int     `json:"shards"`
	FlushIntervalMS float64 `json:"flush_interval_ms"`
	Workers         int     `json:"workers"`
	GOMAXPROCS      int     `json:"gomaxprocs"`

	// Load.
	EventsRequested          uint64  `json:"events_requested"` // due by the schedule: observed + dropped
	EventsObserved           uint64  `json:"events_observed"`
	EventsAccepted           uint64  `json:"events_accepted"`
	EventsDeduplicated       uint64  `json:"events_deduplicated"`
	EventsDroppedByGenerator uint64  `json:"events_dropped_by_generator"`
	AchievedRate             float64 `json:"achieved_rate"` // events observed / elapsed
	KeepingUp                bool    `json:"keeping_up"`
	SessionsInTracker        int     `json:"sessions_in_tracker"`

	// Profile.
	GoroutinesCreated       uint64  `json:"goroutines_created"`
	GoroutinesCreatedPerSec float64 `json:"goroutines_created_per_sec"` // -1 if the runtime lacks the metric
	BytesPerSession         float64 `json:"bytes_per_session"`          // heap growth over the run / sessions: tracker + memory backend
	TrackerBytesPerSession  float64 `json:"tracker_bytes_per_session"`  // the part freed when the tracker is dropped
	BackendBytesPerSession  float64 `json:"backend_bytes_per_session"`  // the part the memory backend keeps
	BackendWrites           uint64  `json:"backend_writes"`             // checkpoints the memory backend wrote
	BackendStale            uint64  `json:"backend_stale"`
	StoreCalls              uint64  `json:"store_calls"`
	WritesPerAccepted       float64 `json:"writes_per_accepted"`
	WritesPerAcceptedBound  float64 `json:"writes_per_accepted_bound"`
	ObserveSampleEvery      uint64  `json:"observe_sample_every"` // 1 = every Observe was timed
	ObserveSamples          uint64  `json:"observe_samples"`
	ObserveP50NS            int64   `json:"observe_p50_ns"`
	ObserveP99NS            int64   `json:"observe_p99_ns"`
	ObserveP999NS           int64   `json:"observe_p999_ns"`
	ObserveMaxNS            int64   `json:"observe_max_ns"`

	// Correctness.
	DedupErrors             uint64  `json:"dedup_errors"`
	ObserveErrors           uint64  `json:"observe_errors"`
	SessionsLost            int     `json:"sessions_lost"`
	CheckpointRegressions   uint64  `json:"checkpoint_regressions"`
	UnknownSessionWrites    uint64  `json:"unknown_session_writes"`
	PersistenceSuccessRatio float64 `json:"persistence_success_ratio"`
	WriteFailures           uint64  `json:"write_failures"` // retried by the tracker; not a failure by itself
	CloseS                  float64 `json:"close_s"`
	CloseError              string  `json:"close_error,omitempty"`
	FirstFailure            string  `json:"first_failure,omitempty"`

	// Verdict.
	Checks        []check `json:"checks"`
	CorrectnessOK bool    `json:"correctness_ok"` // decides the exit status
	PerformanceOK bool    `json:"performance_ok"` // reported only

	backendReport // the store: calls, throttles, write latency (backend.go)
	faultReport   // injected faults (fault.go)
	trackerReport // the tracker's Stats: failures, retries, breakers, evictions, lag (tracker.go)

	heapPre uint64 // live heap before the tracker was created
}

// check is one row of the table.
type check struct {
	Metric      string `json:"metric"`
	Measured    string `json:"measured"`
	Target      string `json:"target"`
	Pass        bool   `json:"pass"`
	Correctness bool   `json:"correctness"` // a failure changes the exit status
}

func (r *report) setCounts(c counts, elapsed time.Duration) {
	r.EventsObserved = c.observed
	r.EventsAccepted = c.accepted
	r.EventsDeduplicated = c.deduplicated
	r.EventsDroppedByGenerator = c.dropped
	r.EventsRequested = c.observed + c.dropped
	r.DedupErrors = c.dedupErrors
	r.ObserveErrors = c.observeErrors
	r.AchievedRate = float64(c.observed) / elapsed.Seconds()
	r.KeepingUp = float64(c.observed) >= keepingUpShare*float64(r.EventsRequested)
}

func (r *report) setLatency(h *histogram) {
	r.ObserveSamples = h.n
	r.ObserveP50NS = int64(h.quantile(0.50))
	r.ObserveP99NS = int64(h.quantile(0.99))
	r.ObserveP999NS = int64(h.quantile(0.999))
	r.ObserveMaxNS = int64(h.max)
}

// setCoalescing computes writes per accepted event and its bound. A shard
// writes each dirty session at most once per flush interval, so a session
// accepting a events/s costs at most 1/(a x flush) writes per event, plus
// two writes per session over the run: the tick already under way when the
// run starts and Close's final flush. No bound exceeds 1: each write stores a
// new Seq, so there are never more writes than accepted events.
func (r *report) setCoalescing(flush time.Duration) {
	r.WritesPerAcceptedBound = 1
	if r.EventsAccepted == 0 {
		return
	}
	r.WritesPerAccepted = float64(r.BackendWrites) / float64(r.EventsAccepted)
	perSession := float64(r.EventsAccepted) / float64(r.Sessions) / r.ElapsedS
	bound := 1/(perSession*flush.Seconds()) + 2/(perSession*r.ElapsedS)
	r.WritesPerAcceptedBound = min(1, bound)
}

// evaluate fills Checks and the verdicts.
func (r *report) evaluate() {
	perf := func(metric, measured, target string, pass bool) {
		r.Checks = append(r.Checks, check{metric, measured, target, pass, false})
	}
	correct := func(metric, measured, target string, pass bool) {
		r.Checks = append(r.Checks, check{metric, measured, target, pass, true})
	}
	r.Checks = r.Checks[:0]

	if r.GoroutinesCreatedPerSec < 0 {
		perf("Task spawn rate", "n/a (no "+goroutinesCreatedMetric+")", "< 10/s", false)
	} else {
		perf("Task spawn rate",
			fmt.Sprintf("%.1f goroutines/s (%d in %.1fs)", r.GoroutinesCreatedPerSec, r.GoroutinesCreated, r.ElapsedS),
			fmt.Sprintf("< %d/s", targetGoroutinesPerSec), r.GoroutinesCreatedPerSec < targetGoroutinesPerSec)
	}
	perf("Memory per session",
		fmt.Sprintf("%.0f B (tracker %.0f B)", r.BytesPerSession, r.TrackerBytesPerSession),
		fmt.Sprintf("< %d B", targetBytesPerSession), r.BytesPerSession < targetBytesPerSession)
	perf("Backend writes / accepted",
		fmt.Sprintf("%.3f (%s / %s)", r.WritesPerAccepted, group(r.BackendWrites), group(r.EventsAccepted)),
		fmt.Sprintf("<= %.3f (1/(rate x flush))", r.WritesPerAcceptedBound), r.WritesPerAccepted <= r.WritesPerAcceptedBound)
	perf("Observe latency p99",
		fmt.Sprintf("%v (p50 %v, max %v)", time.Duration(r.ObserveP99NS), time.Duration(r.ObserveP50NS), time.Duration(r.ObserveMaxNS)),
		"< "+targetP99.String(), time.Duration(r.ObserveP99NS) < targetP99)
	perf("Throughput",
		fmt.Sprintf("%s/s of %s/s (%.0f%%), %s dropped", si(r.AchievedRate), si(r.TargetRate),
			100*r.AchievedRate/r.TargetRate, group(r.EventsDroppedByGenerator)),
		fmt.Sprintf(">= %.0f%% of due events sent", 100*keepingUpShare), r.KeepingUp)

	correct("Persistence success",
		fmt.Sprintf("%.3f%% (%d/%d sessions)", 100*r.PersistenceSuccessRatio, r.Sessions-r.SessionsLost, r.Sessions),
		fmt.Sprintf("> %.1f%%", 100*targetPersistence), r.PersistenceSuccessRatio > targetPersistence)
	correct("Sessions lost", strconv.Itoa(r.SessionsLost), "0", r.SessionsLost == 0)
	correct("Checkpoint regressions", strconv.FormatUint(r.CheckpointRegressions, 10), "0", r.CheckpointRegressions == 0)
	correct("Dedup errors", strconv.FormatUint(r.DedupErrors, 10), "0", r.DedupErrors == 0)
	correct("Observe errors", strconv.FormatUint(r.ObserveErrors, 10), "0", r.ObserveErrors == 0)
	closed := fmt.Sprintf("flushed in %v", time.Duration(r.CloseS*float64(time.Second)).Round(time.Microsecond))
	if r.CloseError != "" {
		closed = r.CloseError
	}
	correct("Close", closed, "every checkpoint stored", r.CloseError == "")

	r.CorrectnessOK, r.PerformanceOK = true, true
	for _, c := range r.Checks {
		switch {
		case c.Pass:
		case c.Correctness:
			r.CorrectnessOK = false
		default:
			r.PerformanceOK = false
		}
	}
}

// writeTable prints the scenario, the review's "Current Performance
// Profile" table with this run's values, and the verdict.
func (r *report) writeTable(w io.Writer) {
	r.writeScenario(w)
	fmt.Fprintln(w, "Current Performance Profile")
	rows := [][]string{{"Metric", "Measured", "Target (review)", "Status"}}
	for _, c := range r.Checks {
		status := "PASS"
		if !c.Pass {
			status = "FAIL"
		}
		if c.Correctness {
			status += "*"
		}
		rows = append(rows, []string{c.Metric, c.Measured, c.Target, status})
	}
	writeMarkdownTable(w, rows)
	fmt.Fprintln(w, "* correctness check: a FAIL makes the exit status 1; the other rows are reported only.")
	fmt.Fprintln(w)

	fmt.Fprintf(w, "events: %s observed = %s accepted + %s deduplicated; %s dropped by the generator\n",
		group(r.EventsObserved), group(r.EventsAccepted), group(r.EventsDeduplicated), group(r.EventsDroppedByGenerator))
	fmt.Fprintf(w, "backend: %s checkpoints written, %s stale, %s Store calls, %s write failures retried\n",
		group(r.BackendWrites), group(r.BackendStale), group(r.StoreCalls), group(r.WriteFailures))
	r.backendReport.writeLine(w)
	r.faultReport.writeLine(w)
	r.trackerReport.writeLine(w)
	fmt.Fprintf(w, "latency: %s Observe calls timed (every %d), p50 %v, p99 %v, p99.9 %v, max %v\n",
		group(r.ObserveSamples), r.ObserveSampleEvery, time.Duration(r.ObserveP50NS), time.Duration(r.ObserveP99NS),
		time.Duration(r.ObserveP999NS), time.Duration(r.ObserveMaxNS))
	// For memory, the backend's part is its checkpoints; for dynamodb and
	// redis, what their clients keep (connection buffers), not the store's.
	fmt.Fprintf(w, "memory: %.0f B/session heap growth (tracker %.0f B + %s backend %.0f B)\n",
		r.BytesPerSession, r.TrackerBytesPerSession, r.Backend, r.BackendBytesPerSession)
	if !r.KeepingUp {
		fmt.Fprintf(w, "NOT KEEPING UP: achieved %s events/s of %s requested (%.0f%%)\n",
			si(r.AchievedRate), si(r.TargetRate), 100*r.AchievedRate/r.TargetRate)
	}
	if r.CorrectnessOK {
		fmt.Fprintln(w, "correctness: PASS")
	} else {
		fmt.Fprintf(w, "correctness: FAIL (%s)\n", r.FirstFailure)
	}
}

// writeJSON prints the report as one indented JSON object.
func (r *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // targets read "< 10/s", not "\u003c 10/s"
	return enc.Encode(r)
}

// writeScenario prints the scenario line that heads a table.
func (r *report) writeScenario(w io.Writer) {
	fmt.Fprintf(w, "lastevent loadgen: %s sessions x %g events/s for %gs (%s events/s), %.0f%% duplicates, window %d, %d shards, flush %gms, %d workers, GOMAXPROCS %d\n\n",
		group(uint64(r.Sessions)), r.RatePerSession, r.DurationS, si(r.TargetRate), 100*r.DupRatio,
		r.Window, r.Shards, r.FlushIntervalMS, r.Workers, r.GOMAXPROCS)
}

// writeMarkdownTable prints rows, the first a header, every row as long
// as the header.
func writeMarkdownTable(w io.Writer, rows [][]string) {
	width := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, cell := range row {
			width[i] = max(width[i], len([]rune(cell)))
		}
	}
	line := func(row []string) {
		var b strings.Builder
		for i, cell := range row {
			b.WriteString("| ")
			b.WriteString(cell)
			b.WriteString(strings.Repeat(" ", width[i]-len([]rune(cell))+1))
		}
		b.WriteString("|")
		fmt.Fprintln(w, b.String())
	}
	line(rows[0])
	sep := make([]string, len(width))
	for i := range sep {
		sep[i] = strings.Repeat("-", width[i])
	}
	line(sep)
	for _, row := range rows[1:] {
		line(row)
	}
}

// group formats n with thousands separators: 10000000 -> "10,000,000".
func group(n uint64) string {
	s := strconv.FormatUint(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// si formats a rate with about three significant digits and a k/M/G
// suffix: 3140000 -> "3.14M", 10000000 -> "10M".
func si(v float64) string {
	suffix := ""
	for _, u := range []struct {
		scale  float64
		suffix string
	}{{1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if v >= 0.9995*u.scale { // what would round up to 1000 takes the next suffix
			v, suffix = v/u.scale, u.suffix
			break
		}
	}
	decimals := 2
	switch {
	case v >= 100:
		decimals = 0
	case v >= 10:
		decimals = 1
	}
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s + suffix
}
