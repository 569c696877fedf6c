package bench

import (
	"testing"
)

// Our structural targets that do not depend on the machine's speed,
// asserted side by side with the baselines on the small-relay scenario
// (see scenario_test.go). Time ratios are benchmarks (BenchmarkCompare), not
// tests: on a shared machine only benchstat over repeated runs can claim them.

// TestGoroutinesCreatedPerEvent: lastevent starts no goroutine per event
// (its flushers start in shard.New, before the measurement); the
// task-per-event design starts one per accepted event.
func TestGoroutinesCreatedPerEvent(t *testing.T) {
	const events = scenarioSessions * 50
	for _, im := range compared {
		r := runScenario(t, im, scenarioOpts{window: window, events: events})
		t.Logf("%s: %d goroutines created for %d events (%d accepted): %.4f per event",
			im.name, r.goroutines, r.events, r.accepted, r.goroutinesPerEvent())
		switch im.name {
		case "lastevent":
			if r.goroutines != 0 {
				t.Errorf("lastevent: goroutines created during %d events: got %d, want 0", r.events, r.goroutines)
			}
		case "taskperevent":
			if r.goroutines < r.accepted {
				t.Errorf("taskperevent: goroutines created: got %d, want >= %d (one per accepted event)", r.goroutines, r.accepted)
			}
		}
	}
}

// TestWritesPerAcceptedWithinBound: with events arriving faster than the
// flush interval, lastevent writes each session at most once per interval,
// so its backend writes per accepted event stay within
// 1/(accepted events/s per session x flush interval) (plus the first tick
// and Close's flush, amortized over the run); the task-per-event design
// writes every accepted event.
func TestWritesPerAcceptedWithinBound(t *testing.T) {
	for _, im := range compared {
		r := runScenario(t, im, scenarioOpts{window: window, minDur: 3 * scenarioFlush})
		bound := r.writeBound(scenarioFlush)
		t.Logf("%s: %d writes (%d Store calls) for %d accepted in %v: %.5f per accepted, bound %.5f",
			im.name, r.writes, r.storeCalls, r.accepted, r.elapsed, r.writesPerAccepted(), bound)
		if bound > 0.1 {
			t.Fatalf("%s: only %d events accepted in %v: the bound %.3f is too loose to test", im.name, r.accepted, r.elapsed, bound)
		}
		switch im.name {
		case "lastevent":
			if got := r.writesPerAccepted(); got > bound {
				t.Errorf("lastevent: writes per accepted event: got %.5f (%d/%d), want <= %.5f", got, r.writes, r.accepted, bound)
			}
		case "taskperevent":
			if r.writes != r.accepted {
				t.Errorf("taskperevent: writes: got %d, want %d (one per accepted event)", r.writes, r.accepted)
			}
		}
	}
}

// TestBytesPerSessionVsTaskPerEvent compares the live heap per session at
// equal window, every window full: lastevent keeps a 64-bit hash and two
// 16-bit links per ID, the task-per-event design the ID string itself plus
// its 16-byte header, in a slice that reslicing leaves up to ~2.3x the
// window long.
//
// The task-per-event design is run once before it is measured: its per-event
// goroutines make the runtime allocate goroutine descriptors (~400 B each,
// on the heap and kept for reuse for the life of the process) up to the
// peak number alive, which the first run would count as bytes per session.
// That cost is real but process-wide, not per session.
func TestBytesPerSessionVsTaskPerEvent(t *testing.T) {
	const sessions, perSession = 250, 8 * window
	opts := scenarioOpts{sessions: sessions, window: window, events: sessions * perSession}
	runScenario(t, implTaskPerEvent, opts) // grows the runtime's goroutine pool
	var got [2]float64
	for i, im := range []impl{implLastevent, implTaskPerEvent} {
		got[i] = runScenario(t, im, opts).bytesPerSession
		t.Logf("%s: %.0f B/session at window %d (%d events per session)", im.name, got[i], window, perSession)
	}
	ratio := got[1] / got[0]
	t.Logf("taskperevent/lastevent: %.1fx", ratio)
	if ratio < minBytesRatio {
		t.Errorf("bytes per session, taskperevent/lastevent at window %d: got %.1fx, want >= %.1fx", window, ratio, minBytesRatio)
	}
}

// minBytesRatio is what the test holds the layouts to. Our target is 10x;
// measured here it is 3.0x to 3.7x (docs/benchmarks.md): 12 B per ID
// against the task-per-event design's 16 B header plus the string's 8 B, in a
// slice up to ~2.3x the window long. The test keeps that structure from
// regressing; it does not claim the 10x.
const minBytesRatio = 2.5
