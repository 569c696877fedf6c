package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Our targets for a relay's event tracker. Goroutines: none per event, so
// fewer than 10 created per second whatever the event rate. Memory: under
// 5 KB per session, so a million sessions fit in a few GB. Persistence: more
// than 99.9% of sessions have exactly their newest checkpoint stored after
// Close. Latency: an Observe takes under 10 ms at p99, well inside what a
// relay can add per event.
const (
	targetGoroutinesPerSec = 10
	targetBytesPerSession  = 5 * 1024
	targetPersistence      = 0.999
	targetP99              = 10 * time.Millisecond
	keepingUpShare         = 0.99 // events sent / events due, to call a run keeping up
)

// report is the outcome of one run: the scenario, what was measured, the
// correctness checks and the verdict. It is printed as a table against our
// targets or as JSON (snake_case keys).
type report struct {
	// Scenario.
	Scenario        string  `json:"scenario"`            // -scenario
	Overrides       string  `json:"overrides,omitempty"` // flags given explicitly
	Sessions        int     `json:"sessions"`
	RatePerSession  float64 `json:"rate_per_session"` // mean
	Burst           int     `json:"burst"`            // events per burst; 1 = steady
	BurstSpacingMS  float64 `json:"burst_spacing_ms,omitempty"`
	BurstPeriodS    float64 `json:"burst_period_s,omitempty"` // a session's bursts start this far apart
	TargetRate      float64 `json:"target_rate"`              // events/s requested over all sessions
	DurationS       float64 `json:"duration_s"`               // requested
	ElapsedS        float64 `json:"elapsed_s"`                // measured window: release of the workers to the last one's return
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
	WritesPerBurst          int     `json:"writes_per_burst_bound,omitempty"` // bursts: the most writes one burst may cost
	ObserveSampleEvery      uint64  `json:"observe_sample_every"`             // 1 = every Observe was timed
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

	// End of the run (drive): its deadline is -close-timeout after the
	// measured window.
	CloseTimeoutS  float64 `json:"close_timeout_s"`
	WorkersStalled bool    `json:"workers_stalled"`         // an Observe was still blocked at the deadline
	CutAtDeadline  bool    `json:"backend_cut_at_deadline"` // backend calls were cut short (cutoff.go)
	CutOffCalls    uint64  `json:"backend_calls_refused_after_cut"`

	// Verdict.
	Checks        []check `json:"checks"`
	CorrectnessOK bool    `json:"correctness_ok"` // decides the exit status
	PerformanceOK bool    `json:"performance_ok"` // reported only

	backendReport // the store: calls, throttles, write latency (backend.go)
	faultReport   // injected faults (fault.go)
	latencyReport // -store-latency delays (latency.go)
	trackerReport // the tracker's Stats: failures, retries, breakers, evictions, lag (tracker.go)

	heapPre uint64 // live heap before the tracker was created
}

// The rows of the table, by metric; the winner rules of -compare name them
// too (winner.go).
const (
	metricSpawnRate     = "Goroutine spawn rate"
	metricMemory        = "Memory per session"
	metricWrites        = "Backend writes / accepted"
	metricLatency       = "Observe latency p99"
	metricThroughput    = "Throughput"
	metricPersistence   = "Persistence success"
	metricLost          = "Sessions lost"
	metricRegressions   = "Checkpoint regressions"
	metricDedup         = "Dedup errors"
	metricObserveErrors = "Observe errors"
	metricClose         = "Close"
)

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
// writes each dirty session at most once per flush interval.
//
// Steady load: a session accepting a events/s costs at most 1/(a x flush)
// writes per event, plus two writes per session over the run: the tick
// already under way when the run starts and Close's final flush.
//
// Bursts: a burst's events span L = (burst-1) x spacing, which at most
// floor(L/flush)+1 ticks fall into, plus the tick (or Close) that writes
// what the last event left: floor(L/flush)+2 writes per burst. A session
// touches at most floor((duration+L)/period)+1 bursts in the run (the one
// under way at the start included), so the bound is that many writes over
// the events accepted.
//
// No bound exceeds 1: each write stores a new Seq, so there are never more
// writes than accepted events.
func (r *report) setCoalescing(flush time.Duration) {
	r.WritesPerAcceptedBound = 1
	if r.EventsAccepted == 0 {
		return
	}
	r.WritesPerAccepted = float64(r.BackendWrites) / float64(r.EventsAccepted)
	if r.Burst > 1 {
		span := time.Duration(r.Burst-1) * time.Duration(r.BurstSpacingMS*float64(time.Millisecond))
		period := time.Duration(r.BurstPeriodS * float64(time.Second))
		run := time.Duration(r.DurationS * float64(time.Second))
		r.WritesPerBurst = int(span/flush) + 2
		bursts := float64(r.Sessions) * float64((run+span)/period+1)
		r.WritesPerAcceptedBound = min(1, bursts*float64(r.WritesPerBurst)/float64(r.EventsAccepted))
		return
	}
	perSession := float64(r.EventsAccepted) / float64(r.Sessions) / r.ElapsedS
	bound := 1/(perSession*flush.Seconds()) + 2/(perSession*r.ElapsedS)
	r.WritesPerAcceptedBound = min(1, bound)
}

// coalescingTarget is the writes-per-accepted row's target: the bound and
// where it comes from.
func coalescingTarget(r *report) string {
	if r.WritesPerBurst > 0 {
		return fmt.Sprintf("<= %.3f (%d writes per burst)", r.WritesPerAcceptedBound, r.WritesPerBurst)
	}
	return fmt.Sprintf("<= %.3f (1/(rate x flush))", r.WritesPerAcceptedBound)
}

// fmtDuration rounds d for the table: to the millisecond from 1s, to the
// microsecond from 1ms (2.147483647s prints as 2.147s, 1.203699ms as
// 1.204ms), exact below.
func fmtDuration(d time.Duration) string {
	switch {
	case d >= time.Second:
		d = d.Round(time.Millisecond)
	case d >= time.Millisecond:
		d = d.Round(time.Microsecond)
	}
	return d.String()
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
		perf(metricSpawnRate, "n/a (no "+goroutinesCreatedMetric+")", "< 10/s", false)
	} else {
		perf(metricSpawnRate,
			fmt.Sprintf("%.1f goroutines/s (%d in %.1fs)", r.GoroutinesCreatedPerSec, r.GoroutinesCreated, r.ElapsedS),
			fmt.Sprintf("< %d/s", targetGoroutinesPerSec), r.GoroutinesCreatedPerSec < targetGoroutinesPerSec)
	}
	perf(metricMemory,
		fmt.Sprintf("%.0f B (tracker %.0f B)", r.BytesPerSession, r.TrackerBytesPerSession),
		fmt.Sprintf("< %d B", targetBytesPerSession), r.BytesPerSession < targetBytesPerSession)
	perf(metricWrites,
		fmt.Sprintf("%.3f (%s / %s)", r.WritesPerAccepted, group(r.BackendWrites), group(r.EventsAccepted)),
		coalescingTarget(r), r.WritesPerAccepted <= r.WritesPerAcceptedBound)
	perf(metricLatency,
		fmt.Sprintf("%s (p50 %s, max %s)", fmtDuration(time.Duration(r.ObserveP99NS)), fmtDuration(time.Duration(r.ObserveP50NS)), fmtDuration(time.Duration(r.ObserveMaxNS))),
		"< "+targetP99.String(), time.Duration(r.ObserveP99NS) < targetP99)
	perf(metricThroughput,
		fmt.Sprintf("%s/s of %s/s (%.0f%%), %s dropped", si(r.AchievedRate), si(r.TargetRate),
			100*r.AchievedRate/r.TargetRate, group(r.EventsDroppedByGenerator)),
		fmt.Sprintf(">= %.0f%% of due events sent", 100*keepingUpShare), r.KeepingUp)

	correct(metricPersistence,
		fmt.Sprintf("%.3f%% (%d/%d sessions)", 100*r.PersistenceSuccessRatio, r.Sessions-r.SessionsLost, r.Sessions),
		fmt.Sprintf("> %.1f%%", 100*targetPersistence), r.PersistenceSuccessRatio > targetPersistence)
	correct(metricLost, strconv.Itoa(r.SessionsLost), "0", r.SessionsLost == 0)
	correct(metricRegressions, strconv.FormatUint(r.CheckpointRegressions, 10), "0", r.CheckpointRegressions == 0)
	correct(metricDedup, strconv.FormatUint(r.DedupErrors, 10), "0", r.DedupErrors == 0)
	correct(metricObserveErrors, strconv.FormatUint(r.ObserveErrors, 10), "0", r.ObserveErrors == 0)
	closed := fmt.Sprintf("flushed in %v", time.Duration(r.CloseS*float64(time.Second)).Round(time.Microsecond))
	switch {
	case r.CloseError != "" && r.CutAtDeadline:
		closed = fmt.Sprintf("not done %gs after the run: cut off", r.CloseTimeoutS) // the error is on the deadline line
	case r.CloseError != "":
		closed = r.CloseError
	}
	correct(metricClose, closed, "every checkpoint stored", r.CloseError == "")

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

// writeTable prints the scenario, this run's values against our targets,
// and the verdict.
func (r *report) writeTable(w io.Writer) {
	r.writeScenario(w)
	fmt.Fprintln(w, "Measured against our targets")
	rows := [][]string{{"Metric", "Measured", "Target", "Status"}}
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
	r.latencyReport.writeLine(w)
	r.writeDeadlineLine(w)
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

// writeScenario prints the scenario line that heads a table: which
// scenario, the flags that changed it, and what it is.
func (r *report) writeScenario(w io.Writer) {
	name := "scenario " + r.Scenario
	if r.Overrides != "" {
		name += " with " + r.Overrides
	}
	load := "steady"
	if r.Burst > 1 {
		load = fmt.Sprintf("in bursts of %d events %v apart, every %v per session", r.Burst,
			time.Duration(r.BurstSpacingMS*float64(time.Millisecond)), time.Duration(r.BurstPeriodS*float64(time.Second)))
	}
	store := r.Backend
	if r.StoreLatencyP95MS > 0 {
		store += fmt.Sprintf(" + %v-%v per call (log-normal, 90%% of calls)",
			time.Duration(r.StoreLatencyP5MS*float64(time.Millisecond)), time.Duration(r.StoreLatencyP95MS*float64(time.Millisecond)))
	}
	if r.AddedLatencyMS > 0 {
		store += fmt.Sprintf(" + %gms per Store", r.AddedLatencyMS)
	}
	fmt.Fprintf(w, "lastevent loadgen, %s: %s sessions x %g events/s %s, for %gs (%s events/s), %.0f%% duplicates; store %s; window %d, %d shards, flush %gms, %d workers, GOMAXPROCS %d\n\n",
		name, group(uint64(r.Sessions)), r.RatePerSession, load, r.DurationS, si(r.TargetRate), 100*r.DupRatio,
		store, r.Window, r.Shards, r.FlushIntervalMS, r.Workers, r.GOMAXPROCS)
}

// writeDeadlineLine says, under the table, when the run had to be cut off.
func (r *report) writeDeadlineLine(w io.Writer) {
	if !r.CutAtDeadline {
		return
	}
	stalled := "the workers had returned"
	if r.WorkersStalled {
		stalled = "an Observe was still blocked"
	}
	fmt.Fprintf(w, "deadline: the run had not ended %gs (-close-timeout) after its measured window (%s): every backend call was cut short, %s refused after the cut\n",
		r.CloseTimeoutS, stalled, group(r.CutOffCalls))
	if r.CloseError != "" {
		fmt.Fprintf(w, "close: %s\n", r.CloseError)
	}
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
