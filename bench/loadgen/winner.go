package main

import (
	"math"
	"slices"
)

// What the last column of -compare says besides an implementation's name.
const (
	winnerTie  = "tie" // the best values are within noise of each other
	winnerNone = "—"   // nothing to compare: fewer than two values, or none qualifies
)

// direction says which values of a row are better.
type direction int

const (
	lowerIsBetter  direction = iota // goroutines, bytes, writes, latency, calls
	higherIsBetter                  // throughput
	passIsBetter                    // correctness: PASS beats FAIL
)

// Ties. Performance rows differ from run to run on a shared machine, and
// the latency histogram's buckets are up to 6.25% wide, so two values
// within defaultRelTol of the larger one are a tie.
const defaultRelTol = 0.10

// rowRule is how one row of the -compare table is judged. Two values tie
// when they differ by at most relTol of the larger, or by at most absTol.
type rowRule struct {
	dir    direction
	value  func(*report) (v float64, ok bool) // lower/higher rows; ok false: no value (not compared)
	relTol float64
	absTol float64
	// qualifies, if set, says whether an implementation competes on the
	// row at all (storedAll, correctAll, keptUp).
	qualifies func(*report) bool
}

// standing is one implementation's entry in a row.
type standing struct {
	impl     string
	value    float64 // lower/higher rows
	pass     bool    // pass rows
	competes bool    // has a value, and qualifies (rowRule.qualifies)
}

// rules are the winner rules of the -compare table's rows, by metric. The
// correctness rows (correctnessMetrics) are passIsBetter.
var rules = map[string]rowRule{
	metricSpawnRate: {dir: lowerIsBetter, relTol: defaultRelTol, absTol: 1, // a client's connection pool warming up is not one per event
		value: func(r *report) (float64, bool) { return r.GoroutinesCreatedPerSec, r.GoroutinesCreatedPerSec >= 0 }},
	metricMemory: {dir: lowerIsBetter, relTol: defaultRelTol, qualifies: keptUp,
		value: func(r *report) (float64, bool) { return r.BytesPerSession, true }},
	metricWrites: {dir: lowerIsBetter, relTol: defaultRelTol, qualifies: correctAll,
		value: func(r *report) (float64, bool) { return r.WritesPerAccepted, r.EventsAccepted > 0 }},
	metricLatency: {dir: lowerIsBetter, relTol: defaultRelTol, qualifies: keptUp,
		value: func(r *report) (float64, bool) { return float64(r.ObserveP99NS), r.ObserveSamples > 0 }},
	metricThroughput: {dir: higherIsBetter, absTol: 1, // percentage points of the due events
		value: func(r *report) (float64, bool) { return 100 * r.AchievedRate / r.TargetRate, r.TargetRate > 0 }},
	metricStoreCalls: {dir: lowerIsBetter, relTol: defaultRelTol, qualifies: storedAll,
		value: func(r *report) (float64, bool) { return float64(r.StoreCalls), true }},
	metricStale: {dir: lowerIsBetter, relTol: defaultRelTol, qualifies: storedAll,
		value: func(r *report) (float64, bool) { return float64(r.BackendStale), true }},
	metricGoroutines: {dir: lowerIsBetter, relTol: defaultRelTol, absTol: 10,
		value: func(r *report) (float64, bool) { return float64(r.GoroutinesCreated), r.GoroutinesCreatedPerSec >= 0 }},
}

// storedAll reports whether r's checkpoints all landed: no session lost,
// no regression sent, Close clean. Writing less is no win when the
// checkpoints did not land.
func storedAll(r *report) bool {
	return r.SessionsLost == 0 && r.CheckpointRegressions == 0 && r.CloseError == ""
}

// correctAll reports whether every correctness check of r passed. Writes
// per accepted event compare only such implementations: one that accepts
// replays (mutexmap) divides by more events than were new.
func correctAll(r *report) bool { return r.CorrectnessOK }

// keptUp reports whether r sent at least 99% of the due events. A design
// that stalled held a fraction of the load, so its bytes per session
// describe another run; and the events it dropped while an Observe was
// blocked are in no latency sample, so its p99 hides the stall (only the
// max shows it).
func keptUp(r *report) bool { return r.KeepingUp }

// winnerOf judges row metric across the reports of impls (in that order).
// A correctness row (a check with Correctness set) is passIsBetter.
func winnerOf(metric string, impls []string, reports map[string]*report) string {
	rule, ok := rules[metric]
	if !ok {
		rule = rowRule{dir: passIsBetter}
	}
	entries := make([]standing, 0, len(impls))
	for _, impl := range impls {
		r := reports[impl]
		e := standing{impl: impl}
		if rule.dir == passIsBetter {
			i := slices.IndexFunc(r.Checks, func(c check) bool { return c.Metric == metric })
			if i < 0 {
				continue
			}
			e.pass, e.competes = r.Checks[i].Pass, true
		} else {
			e.value, e.competes = rule.value(r)
			e.competes = e.competes && !math.IsNaN(e.value) && (rule.qualifies == nil || rule.qualifies(r))
		}
		entries = append(entries, e)
	}
	return judge(rule, entries)
}

// judge names the winner of one row: the implementation whose value is
// best, or winnerTie when the best two competing values are within the
// rule's tolerance (for pass rows: when more than one passes), or
// winnerNone when fewer than two implementations are on the row or none
// competes. A single competitor among several wins: the others did not
// qualify.
func judge(rule rowRule, entries []standing) string {
	if len(entries) < 2 {
		return winnerNone
	}
	var in []standing
	for _, e := range entries {
		if e.competes && (rule.dir != passIsBetter || e.pass) {
			in = append(in, e)
		}
	}
	switch len(in) {
	case 0:
		return winnerNone
	case 1:
		return in[0].impl
	}
	if rule.dir == passIsBetter {
		return winnerTie
	}
	slices.SortStableFunc(in, func(a, b standing) int {
		if rule.dir == higherIsBetter {
			a, b = b, a
		}
		switch {
		case a.value < b.value:
			return -1
		case a.value > b.value:
			return 1
		}
		return 0
	})
	best, next := in[0].value, in[1].value
	if math.Abs(best-next) <= max(rule.relTol*max(math.Abs(best), math.Abs(next)), rule.absTol) {
		return winnerTie
	}
	return in[0].impl
}
