package main

import (
	"testing"
)

func TestJudgeNamesTheBestOrATie(t *testing.T) {
	lower := rowRule{dir: lowerIsBetter, relTol: defaultRelTol}
	higher := rowRule{dir: higherIsBetter, absTol: 1}
	pass := rowRule{dir: passIsBetter}
	on := func(vals ...float64) []standing {
		out := make([]standing, len(vals))
		for i, v := range vals {
			out[i] = standing{impl: compareImpls[i], value: v, competes: true}
		}
		return out
	}
	passes := func(ps ...bool) []standing {
		out := make([]standing, len(ps))
		for i, p := range ps {
			out[i] = standing{impl: compareImpls[i], pass: p, competes: true}
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		rule    rowRule
		entries []standing
		want    string
	}{
		// Each implementation can win a lower-is-better row.
		{"lastevent lowest", lower, on(1, 5, 9), implLastevent},
		{"taskperevent lowest", lower, on(5, 1, 9), implTaskPerEvent},
		{"mutexmap lowest", lower, on(735, 900, 61), implMutexmap},
		// Within 10% of the larger: a tie, whoever else is far behind.
		{"best two within 10%", lower, on(100, 109, 5000), winnerTie},
		{"best two 11% apart", lower, on(100, 112, 5000), implLastevent},
		{"both zero", lower, on(0, 9005, 0), winnerTie},
		// Higher is better; 1 point of slack.
		{"throughput", higher, on(100, 100, 0.3), winnerTie},
		{"throughput, one kept up", higher, on(100, 97, 0.3), implLastevent},
		{"throughput, mutexmap best", higher, on(50, 60, 99.5), implMutexmap},
		{"throughput within a point", higher, on(99.5, 40, 100), winnerTie},
		// PASS beats FAIL; several PASS tie; none PASS: no winner.
		{"one passes", pass, passes(true, false, false), implLastevent},
		{"only mutexmap passes", pass, passes(false, false, true), implMutexmap},
		{"two pass", pass, passes(true, true, false), winnerTie},
		{"none passes", pass, passes(false, false, false), winnerNone},
		// Nothing to compare.
		{"one implementation", lower, on(3), winnerNone},
		{"nobody competes", lower, []standing{{impl: "a"}, {impl: "b"}}, winnerNone},
		// One competitor left among several wins: the others did not qualify.
		{"only one qualifies", lower, []standing{{impl: implLastevent, value: 9, competes: true}, {impl: implMutexmap, value: 1}}, implLastevent},
	} {
		if got := judge(tc.rule, tc.entries); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

// winnerOf on reports shaped like the two scenarios: in the default one
// mutexmap's Observe is fastest and uses least memory; with a slow store it
// stalls, and lastevent wins what mutexmap loses. Cost rows count only the
// implementations that qualify for them.
func TestWinnerOfRows(t *testing.T) {
	mk := func(p99, bytes, writes float64, keptUp, stored, dedupOK bool) *report {
		r := &report{Sessions: 100, TargetRate: 1000, AchievedRate: 1000, KeepingUp: keptUp, PersistenceSuccessRatio: 1,
			ObserveSamples: 1, ObserveP99NS: int64(p99), BytesPerSession: bytes, EventsAccepted: 1000,
			WritesPerAccepted: writes, StoreCalls: uint64(writes * 1000)}
		if !keptUp {
			r.AchievedRate = 3
		}
		if !stored {
			r.SessionsLost, r.PersistenceSuccessRatio, r.CloseError = 5, 0.95, "cut off"
		}
		if !dedupOK {
			r.DedupErrors = 995
		}
		r.evaluate()
		return r
	}
	quiet := map[string]*report{
		implLastevent:    mk(6600, 2053, 0.997, true, true, true),
		implTaskPerEvent: mk(47000, 2731, 1.0, true, true, true),
		implMutexmap:     mk(511, 154, 0.999, true, true, false),
	}
	slow := map[string]*report{
		implLastevent:    mk(2400, 866, 0.384, true, true, true),
		implTaskPerEvent: mk(5375, 768, 0.996, true, true, true),
		implMutexmap:     mk(300, 6, 0.302, false, false, false), // p99 of the few events it took; a stall is in max only
	}
	for _, tc := range []struct {
		reports map[string]*report
		metric  string
		want    string
	}{
		{quiet, metricLatency, implMutexmap},
		{quiet, metricMemory, implMutexmap},
		{quiet, metricWrites, winnerTie}, // 0.997 vs 1.0; mutexmap accepted replays: its ratio does not count
		{quiet, metricDedup, winnerTie},  // lastevent and taskperevent pass
		{quiet, metricThroughput, winnerTie},
		{slow, metricLatency, implLastevent},   // mutexmap stalled: its p99 covers the few events it took
		{slow, metricMemory, implTaskPerEvent}, // mutexmap stalled: its bytes do not count
		{slow, metricWrites, implLastevent},    // mutexmap failed: its ratio does not count
		{slow, metricThroughput, winnerTie},
		{slow, metricClose, winnerTie},
		{slow, metricLost, winnerTie},
		{slow, metricStoreCalls, implLastevent},
	} {
		if got := winnerOf(tc.metric, compareImpls, tc.reports); got != tc.want {
			name := "default"
			if tc.reports[implMutexmap].CloseError != "" {
				name = "slow store"
			}
			t.Errorf("%s scenario, row %q: got %q, want %q", name, tc.metric, got, tc.want)
		}
	}
}
