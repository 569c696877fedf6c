package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/puzpuzpuz/xsync/v3"

	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/shard"
)

const (
	// window is the dedup window of every benchmark: the default.
	window = core.DefaultWindow
	// newPool is how many distinct IDs case=new cycles through on one
	// session. Far more than the window, so an ID comes back only after
	// newPool-1 newer accepted IDs pushed it out, and is accepted again.
	newPool = 1 << 16
	// workerPool is the same per goroutine of the concurrent benchmarks.
	// Goroutines use disjoint IDs, so one's ID is never another's duplicate.
	workerPool = 1 << 12
	// manySessions is the session count of the many-sessions cases and of the
	// map that BenchmarkObserve's hot session lives in.
	manySessions = 1 << 10
	// idBase makes IDs 13 decimal digits, like millisecond timestamps.
	idBase = 1_700_000_000_000
)

// sink receives the floor's state after each benchmark, so nothing the floor
// computes is dead code. (Its per-event store is an atomic store to a heap
// slot, which the compiler does not remove either.)
var sink uint64

// floorRecord is the 24-byte record any design publishes per accepted event.
type floorRecord struct {
	id  string
	seq uint64
}

type floorSlot struct {
	last atomic.Pointer[floorRecord]
}

// floor does the least work any design must do per event: find the session
// in a concurrent map, hash the ID, and publish a fresh record with one
// atomic store. It never rejects, so it is the floor of case=dup too (a dup
// skips the store, but must still find the session and hash the ID).
type floor struct {
	sessions *xsync.MapOf[string, *floorSlot]
}

func newFloor(sessions []string) *floor {
	f := &floor{sessions: xsync.NewMapOf[string, *floorSlot]()}
	for _, s := range sessions {
		f.sessions.Store(s, new(floorSlot))
	}
	return f
}

// observe is not inlined because Tracker.Observe is not either: both
// benchmark loops pay one call.
//
//go:noinline
func (f *floor) observe(session, id string) bool {
	s, ok := f.sessions.Load(session)
	if !ok {
		return false
	}
	h := xxhash.Sum64String(id)
	s.last.Store(&floorRecord{id: id, seq: h})
	return true
}

// checksum folds every session's newest record into one number.
func (f *floor) checksum() uint64 {
	var sum uint64
	f.sessions.Range(func(_ string, s *floorSlot) bool {
		if r := s.last.Load(); r != nil {
			sum += r.seq + uint64(len(r.id))
		}
		return true
	})
	return sum
}

// target is what a benchmark drives: the floor or a Tracker, exactly one
// set. The loops call each directly (not through an interface or closure),
// so both pay the same single call per event.
type target struct {
	floor   *floor
	tracker *shard.Tracker
}

// done publishes the floor's results to sink and reports ops/s.
func (tg target) done(b *testing.B) {
	if tg.floor != nil {
		sink += tg.floor.checksum()
	}
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, "ops/s")
	}
}

func sessionNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("session-%06d", i)
	}
	return names
}

// eventIDs returns n distinct decimal IDs starting at idBase+from.
func eventIDs(from, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = strconv.Itoa(idBase + from + i)
	}
	return ids
}

// warmIDs fill every session's window before timing; they are case=dup's
// IDs. They are below idBase, so no benchmark ID repeats them.
var warmIDs = eventIDs(-window, window)

// newTracker returns a Tracker whose sessions have all seen warmIDs, so each
// window is full and at its final size: the timed loop never grows a ring.
// The flush interval is long so the flusher, woken only by full batches,
// stays off the timed path; the Tracker is closed when b ends.
func newTracker(b *testing.B, sessions []string) *shard.Tracker {
	b.Helper()
	t, err := shard.New(memory.New(), shard.Config{
		Window:        window,
		FlushInterval: time.Hour,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatalf("shard.New: %v", err)
	}
	b.Cleanup(func() {
		if err := t.Close(context.Background()); err != nil {
			b.Errorf("Close: %v", err)
		}
	})
	for _, s := range sessions {
		for _, id := range warmIDs {
			if ok, err := t.Observe(s, id); !ok || err != nil {
				b.Fatalf("warm-up Observe(%q, %q): got accepted=%v err=%v, want accepted", s, id, ok, err)
			}
		}
	}
	return t
}

func newTarget(b *testing.B, impl string, sessions []string) target {
	b.Helper()
	switch impl {
	case "floor":
		return target{floor: newFloor(sessions)}
	case "lastevent":
		return target{tracker: newTracker(b, sessions)}
	}
	b.Fatalf("unknown impl %q", impl)
	return target{}
}

var (
	impls = []string{"floor", "lastevent"}
	cases = []string{"new", "dup"}
)

// BenchmarkObserve measures Observe on one warm session of a Tracker that
// holds manySessions, serially. case=new observes IDs out of the window
// (each is accepted); case=dup replays IDs in the window (each is rejected).
func BenchmarkObserve(b *testing.B) {
	sessions := sessionNames(manySessions)
	hot := sessions[0]
	fresh := eventIDs(0, newPool)
	for _, impl := range impls {
		for _, c := range cases {
			b.Run("impl="+impl+"/case="+c, func(b *testing.B) {
				tg := newTarget(b, impl, sessions)
				ids := fresh
				if c == "dup" {
					ids = warmIDs
				}
				mask := len(ids) - 1
				b.ReportAllocs()
				i := 0
				if tg.floor != nil {
					for b.Loop() {
						if !tg.floor.observe(hot, ids[i&mask]) {
							b.Fatalf("floor: session %q missing", hot)
						}
						i++
					}
				} else {
					want := c == "new"
					for b.Loop() {
						if ok, err := tg.tracker.Observe(hot, ids[i&mask]); ok != want || err != nil {
							b.Fatalf("Observe(%q, %q): got accepted=%v err=%v, want accepted=%v", hot, ids[i&mask], ok, err, want)
						}
						i++
					}
				}
				tg.done(b)
			})
		}
	}
}

// pairChunk is how many events BenchmarkObserveVsFloor gives one impl before
// switching to the other: long enough that reading the clock twice per chunk
// costs well under 1%, short enough (tens of microseconds) that both impls
// of a pair see the same machine load.
const pairChunk = 256

// BenchmarkObserveVsFloor measures the same as BenchmarkObserve, but runs
// the floor and the Tracker in alternating chunks of pairChunk events within
// one benchmark, and reports each side's mean ns/event and their ratio
// (lastevent/floor, total Tracker time over total floor time). On a shared
// machine, load that changes between two benchmarks shifts the
// BenchmarkObserve ratio; here it shifts both sides alike. Totals, not
// medians, are compared, so each side pays its share of GC work, as in
// BenchmarkObserve. ns/op (the time of one chunk pair) is suppressed, and
// allocs/op count a chunk pair; per-event allocs are BenchmarkObserve's.
func BenchmarkObserveVsFloor(b *testing.B) {
	sessions := sessionNames(manySessions)
	hot := sessions[0]
	fresh := eventIDs(0, newPool)
	for _, c := range cases {
		b.Run("case="+c, func(b *testing.B) {
			f := newFloor(sessions)
			t := newTracker(b, sessions)
			// On case=new each impl gets its own pool, so neither reads IDs
			// the other just brought into cache.
			ids, floorIDs := fresh, eventIDs(newPool, newPool)
			if c == "dup" {
				ids, floorIDs = warmIDs, warmIDs
			}
			mask := len(ids) - 1
			want := c == "new"
			var fi, ti int // next ID index of each impl
			floorChunk := func() time.Duration {
				start := time.Now()
				for range pairChunk {
					if !f.observe(hot, floorIDs[fi&mask]) {
						b.Fatalf("floor: session %q missing", hot)
					}
					fi++
				}
				return time.Since(start)
			}
			trackerChunk := func() time.Duration {
				start := time.Now()
				for range pairChunk {
					if ok, err := t.Observe(hot, ids[ti&mask]); ok != want || err != nil {
						b.Fatalf("Observe(%q, %q): got accepted=%v err=%v, want accepted=%v", hot, ids[ti&mask], ok, err, want)
					}
					ti++
				}
				return time.Since(start)
			}
			var floorTime, trackerTime time.Duration
			for b.Loop() {
				// Alternate which goes first, so neither always runs on
				// caches the other just warmed or evicted.
				if fi%(2*pairChunk) == 0 {
					floorTime += floorChunk()
					trackerTime += trackerChunk()
				} else {
					trackerTime += trackerChunk()
					floorTime += floorChunk()
				}
			}
			sink += f.checksum()
			events := float64(b.N) * pairChunk
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(float64(floorTime)/events, "floor-ns/event")
			b.ReportMetric(float64(trackerTime)/events, "lastevent-ns/event")
			b.ReportMetric(float64(trackerTime)/float64(max(floorTime, 1)), "lastevent/floor")
		})
	}
}

// part returns worker w's share of sessions: a disjoint slice when there are
// at least as many sessions as workers, else all of them.
func part(sessions []string, w, workers int) []string {
	n := len(sessions) / workers
	if n == 0 {
		return sessions
	}
	return sessions[w*n : (w+1)*n]
}

// worker yields (session, ID) pairs: its sessions round-robin, and for each
// session its IDs in order, one per round. A session therefore gets len(ids)
// distinct IDs from a worker before one repeats, far more than the window.
type worker struct {
	sessions []string
	ids      []string // len is a power of two
	si, ii   int      // next session, next ID
}

func newWorker(sessions, ids []string) *worker {
	return &worker{sessions: sessions, ids: ids}
}

func (w *worker) next() (session, id string) {
	session, id = w.sessions[w.si], w.ids[w.ii]
	if w.si++; w.si == len(w.sessions) {
		w.si, w.ii = 0, (w.ii+1)&(len(w.ids)-1)
	}
	return session, id
}

// BenchmarkObserveBytes compares the two ways to feed the tracker an ID
// decoded into a byte slice (sse.Decoder's Event.ID): impl=string converts
// it, Observe(session, string(id)), which allocates for every event,
// duplicates included; impl=bytes calls ObserveBytes, which copies only an
// ID it keeps. Same warm tracker and IDs as BenchmarkObserve.
//
//	go test -run '^$' -bench 'ObserveBytes' -benchmem -count 6 ./bench
func BenchmarkObserveBytes(b *testing.B) {
	sessions := sessionNames(manySessions)
	hot := sessions[0]
	toBytes := func(ids []string) [][]byte {
		out := make([][]byte, len(ids))
		for i, id := range ids {
			out[i] = []byte(id)
		}
		return out
	}
	fresh, warm := toBytes(eventIDs(0, newPool)), toBytes(warmIDs)
	for _, impl := range []string{"string", "bytes"} {
		for _, c := range cases {
			b.Run("impl="+impl+"/case="+c, func(b *testing.B) {
				tr := newTracker(b, sessions)
				ids := fresh
				if c == "dup" {
					ids = warm
				}
				mask := len(ids) - 1
				want := c == "new"
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					id := ids[i&mask]
					var ok bool
					var err error
					if impl == "string" {
						ok, err = tr.Observe(hot, string(id))
					} else {
						ok, err = tr.ObserveBytes(hot, id)
					}
					if ok != want || err != nil {
						b.Fatalf("%s(%q, %q): got accepted=%v err=%v, want accepted=%v", impl, hot, id, ok, err, want)
					}
					i++
				}
			})
		}
	}
}
