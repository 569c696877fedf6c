package bench

import (
	"context"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lastevent/lastevent/core"
)

// The small-relay scenario (100 concurrent SSE sessions, 10 events/s each,
// 10% replays) as the side-by-side tests and BenchmarkScenario drive it: scenarioSessions sessions, events round-robin, every dupEvery-th event
// of a session a replay of one of its recent IDs, IDs formatted as they
// arrive (a server receives each as a new string).
const (
	scenarioSessions = 100
	dupEvery         = 10 // 10% replays, like the load generator's default
	// dupDistance is how far back a replay reaches: within any window >= 8.
	dupDistance = 5
	// scenarioFlush is the flush interval of lastevent and mutexmap: the
	// Tracker's default.
	scenarioFlush = 100 * time.Millisecond
)

// countingBackend counts the checkpoints it is asked to store (written or
// not: every one is a backend write) and the Store calls, and stores nothing,
// so the heap measured is the implementation's alone.
type countingBackend struct {
	discardBackend
	writes atomic.Uint64
	calls  atomic.Uint64
}

func (c *countingBackend) Store(ctx context.Context, batch []core.Checkpoint, results []core.Result) {
	c.calls.Add(1)
	c.writes.Add(uint64(len(batch)))
	c.discardBackend.Store(ctx, batch, results)
}

// scenario generates the scenario's events and checks the answers.
type scenario struct {
	sessions []string
	issued   []uint64 // newest new ID per session
	sent     []uint64 // events sent per session
	next     int      // next session
	buf      []byte
	accepted uint64
	events   uint64
}

func newScenario(sessions int) *scenario {
	return &scenario{sessions: sessionNames(sessions),
		issued: make([]uint64, sessions), sent: make([]uint64, sessions)}
}

// step sends the next event to obs. A deduplicating obs must accept a new ID
// and reject a replay; others must accept both.
func (sc *scenario) step(tb testing.TB, obs observer, dedups bool) {
	i := sc.next
	if sc.next++; sc.next == len(sc.sessions) {
		sc.next = 0
	}
	sc.sent[i]++
	dup := sc.sent[i]%dupEvery == 0 && sc.issued[i] > dupDistance
	id := sc.issued[i] - dupDistance
	if !dup {
		sc.issued[i]++
		id = sc.issued[i]
	}
	sc.buf = strconv.AppendUint(sc.buf[:0], id, 10)
	ok, err := obs.Observe(sc.sessions[i], string(sc.buf))
	if err != nil || ok != (!dup || !dedups) {
		tb.Fatalf("Observe(%q, %d) (replay %v): got accepted=%v err=%v", sc.sessions[i], id, dup, ok, err)
	}
	sc.events++
	if ok {
		sc.accepted++
	}
	if d, isDrainer := obs.(drainer); isDrainer && sc.events%4096 == 0 {
		d.Drain() // keeps taskperevent under the race detector's goroutine limit
	}
}

// scenarioRun is what one run of the scenario measured.
type scenarioRun struct {
	sessions           int
	events, accepted   uint64
	writes, storeCalls uint64  // up to and including Close
	goroutines         uint64  // created while events were sent
	bytesPerSession    float64 // live heap growth, implementation alive
	elapsed            time.Duration
}

// writesPerAccepted is backend writes per accepted event.
func (r scenarioRun) writesPerAccepted() float64 { return float64(r.writes) / float64(r.accepted) }

// goroutinesPerEvent is goroutines created per event sent.
func (r scenarioRun) goroutinesPerEvent() float64 { return float64(r.goroutines) / float64(r.events) }

// writeBound is 1/(accepted events per second per session x flush): the
// most writes per accepted event a design that writes each session at most
// once per flush interval can make, plus the two writes per session (the
// tick under way at the start and Close's final flush) that a short run
// cannot amortize. Capped at 1, which any design meets trivially by writing
// every accepted event.
func (r scenarioRun) writeBound(flush time.Duration) float64 {
	perSession := float64(r.accepted) / float64(r.sessions) / r.elapsed.Seconds()
	return min(1, 1/(perSession*flush.Seconds())+2/(perSession*r.elapsed.Seconds()))
}

// scenarioOpts says how long runScenario sends: exactly events events, or
// until minDur has passed, or whatever loop does with the step it is given
// (a benchmark's b.N loop). Exactly one is set.
type scenarioOpts struct {
	sessions int // default scenarioSessions
	window   int
	events   uint64
	minDur   time.Duration
	loop     func(step func())
}

// runScenario starts im, sends events as o says, measures, and closes it.
func runScenario(tb testing.TB, im impl, o scenarioOpts) scenarioRun {
	tb.Helper()
	if o.sessions == 0 {
		o.sessions = scenarioSessions
	}
	be := &countingBackend{}
	sc := newScenario(o.sessions)
	before := liveHeap()
	obs, err := im.start(be, o.window, scenarioFlush, sc.sessions)
	if err != nil {
		tb.Fatalf("%s: start: %v", im.name, err)
	}
	created0 := goroutinesCreated(tb)
	start := time.Now()
	step := func() { sc.step(tb, obs, im.dedups) }
	switch {
	case o.loop != nil:
		o.loop(step)
	case o.events > 0:
		for range o.events {
			step()
		}
	default:
		for time.Since(start) < o.minDur {
			for range 256 {
				step()
			}
		}
	}
	r := scenarioRun{sessions: o.sessions, events: sc.events, accepted: sc.accepted, elapsed: time.Since(start)}
	r.goroutines = goroutinesCreated(tb) - created0
	if d, ok := obs.(drainer); ok {
		d.Drain() // taskperevent's per-event goroutines hold heap until they end
	}
	r.bytesPerSession = float64(int64(liveHeap())-int64(before)) / float64(o.sessions)
	runtime.KeepAlive(obs)
	if err := obs.Close(context.Background()); err != nil {
		tb.Fatalf("%s: Close: %v", im.name, err)
	}
	r.writes, r.storeCalls = be.writes.Load(), be.calls.Load()
	return r
}

const goroutinesCreatedMetric = "/sched/goroutines-created:goroutines"

// goroutinesCreated returns how many goroutines the process has started.
func goroutinesCreated(tb testing.TB) uint64 {
	s := []metrics.Sample{{Name: goroutinesCreatedMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		tb.Skipf("runtime lacks %s", goroutinesCreatedMetric)
	}
	return s[0].Value.Uint64()
}

// BenchmarkScenario runs the small-relay scenario unpaced, as fast as one
// goroutine sends, at the default window, with lastevent and mutexmap
// flushing every 100ms. One op is one event. Besides time and allocations it
// reports our three structural numbers: backend writes per accepted
// event (writes/accepted) beside the bound 1/(accepted events/s per session
// x flush interval) at the rate achieved (bound-writes/accepted),
// goroutines created per event (goroutines/event) and live heap per session
// (B/session, implementation alive, windows full once b.N >= 100 x window).
func BenchmarkScenario(b *testing.B) {
	for _, im := range compared {
		b.Run("impl="+im.name+"/window="+strconv.Itoa(window), func(b *testing.B) {
			b.ReportAllocs()
			r := runScenario(b, im, scenarioOpts{window: window, loop: func(step func()) {
				b.ResetTimer()
				for range b.N {
					step()
				}
				b.StopTimer()
			}})
			b.ReportMetric(r.writesPerAccepted(), "writes/accepted")
			b.ReportMetric(r.writeBound(scenarioFlush), "bound-writes/accepted")
			b.ReportMetric(r.goroutinesPerEvent(), "goroutines/event")
			b.ReportMetric(r.bytesPerSession, "B/session")
		})
	}
}
