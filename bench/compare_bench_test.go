package bench

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/lastevent/lastevent/backends/memory"
)

// compareGroup is one population of sessions that BenchmarkCompare builds
// once per implementation and runs every case and mode on.
type compareGroup struct {
	name     string // the sessions= label
	sessions int
	window   int
	// warm is how many IDs each session observes before timing: a full
	// window for 1k sessions; 4 for 1M, where filling every window would
	// take minutes and gigabytes (taskperevent keeps ~50 B per ID) per run.
	warm  int
	modes []string
}

var compareGroups = []compareGroup{
	{"1k", manySessions, 128, 128, []string{"serial", "parallel", "hot"}},
	// The task-per-event design keeps 1000 IDs per session by default
	// (taskperevent.DefaultWindow): the nearest power of two compares the
	// designs at that window.
	{"1k", manySessions, 1024, 1024, []string{"serial", "parallel", "hot"}},
	{"1k", manySessions, 4096, 4096, []string{"serial", "parallel", "hot"}},
	// One hot session behaves the same in a map of 1k or 1M; only the
	// many-session modes are repeated at scale.
	{"1M", 1 << 20, 128, 4, []string{"serial", "parallel"}},
}

// BenchmarkCompare puts lastevent beside the baselines (bench/baseline:
// taskperevent, mutexmap) and the floor, on the same memory backend and the same
// events, named impl=…/case=…/mode=…/sessions=…/window=…:
//
//   - case=new: every ID is out of the session's window, so a deduplicating
//     implementation must accept it; case=dup: every ID is in the window and
//     must be rejected. mutexmap and the floor accept both (no dedup).
//   - mode=serial: one goroutine, round-robin over the sessions.
//     mode=parallel: b.RunParallel, GOMAXPROCS goroutines splitting the
//     sessions (one writer per session). mode=hot: b.RunParallel, every
//     goroutine on one session, with disjoint IDs.
//
// Each implementation's sessions are built and warmed once per group (before
// timing, in the first sub-benchmark of the group that runs) and closed
// after it: dup cases run first, then new cases, each with IDs no earlier run
// used. Flush intervals are an hour, so lastevent's flushers and mutexmap's
// ticker stay off the timed path; taskperevent's per-event goroutines are its
// design and run during the timed loop (those still running when it ends are
// not timed). ops/s is b.N over the elapsed time.
func BenchmarkCompare(b *testing.B) {
	for _, g := range compareGroups {
		names := sessionNames(g.sessions)
		for _, im := range append([]impl{implFloor}, compared...) {
			if im.name == "floor" && g.window != window {
				continue // the floor has no window
			}
			var tg *compareTarget
			// dup before new: dup replays the warm IDs, which new pushes out.
			for _, c := range []string{"dup", "new"} {
				for _, mode := range g.modes {
					name := fmt.Sprintf("impl=%s/case=%s/mode=%s/sessions=%s/window=%d", im.name, c, mode, g.name, g.window)
					b.Run(name, func(b *testing.B) {
						if tg == nil {
							tg = newCompareTarget(b, im, g, names)
						}
						tg.run(b, mode, c == "new")
					})
				}
			}
			if tg != nil {
				if err := tg.obs.Close(context.Background()); err != nil {
					b.Errorf("%s: Close: %v", im.name, err)
				}
			}
		}
	}
}

// compareTarget is one implementation's warm sessions.
type compareTarget struct {
	im       impl
	obs      observer
	sessions []string
	warmIDs  []string // in every window; case=dup's IDs
	pool     int      // IDs per worker for case=new: more than the window
	nextID   int      // case=new IDs below this were handed out already
}

func newCompareTarget(b *testing.B, im impl, g compareGroup, sessions []string) *compareTarget {
	b.Helper()
	obs, err := im.start(memory.New(), g.window, time.Hour, sessions)
	if err != nil {
		b.Fatalf("%s: start: %v", im.name, err)
	}
	// taskperevent is seeded (see taskperevent.Tracker.Seed): the same state
	// without O(window²) scans. The others observe the warm IDs.
	tg := &compareTarget{im: im, obs: obs, sessions: sessions,
		warmIDs: eventIDs(-g.warm, g.warm), pool: max(2*g.window, workerPool)}
	for _, s := range sessions {
		if sd, ok := obs.(seeder); ok {
			if err := sd.Seed(s, tg.warmIDs); err != nil {
				b.Fatalf("%s: Seed(%q): %v", im.name, s, err)
			}
			continue
		}
		for _, id := range tg.warmIDs {
			if ok, err := obs.Observe(s, id); err != nil || (im.dedups && !ok) {
				b.Fatalf("%s: warm-up Observe(%q, %q): got accepted=%v err=%v, want accepted", im.name, s, id, ok, err)
			}
		}
	}
	runtime.GC() // start timing without the warm-up's garbage
	return tg
}

// run times one case and mode. Every call takes fresh IDs, so a case=new ID
// is never in a window, however often b.Run calls it.
func (tg *compareTarget) run(b *testing.B, mode string, fresh bool) {
	workers := 1
	if mode != "serial" {
		workers = runtime.GOMAXPROCS(0)
	}
	pools := make([][]string, workers)
	for w := range pools {
		pools[w] = tg.warmIDs
		if fresh {
			pools[w] = eventIDs(tg.nextID, tg.pool)
			tg.nextID += tg.pool
		}
	}
	check := fresh || tg.im.dedups // mutexmap and the floor accept replays
	b.ReportAllocs()
	if mode == "serial" {
		wk := newWorker(tg.sessions, pools[0])
		for b.Loop() {
			if err := observeNext(tg.obs, wk, fresh, check); err != nil {
				b.Fatal(err)
			}
		}
		reportOps(b)
		return
	}
	var nextWorker atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := int(nextWorker.Add(1) - 1)
		if w >= workers {
			panic(fmt.Sprintf("worker %d of %d: more goroutines than ID pools", w, workers))
		}
		mine := tg.sessions[:1] // mode=hot
		if mode == "parallel" {
			mine = part(tg.sessions, w, workers)
		}
		wk := newWorker(mine, pools[w])
		for pb.Next() {
			if err := observeNext(tg.obs, wk, fresh, check); err != nil {
				panic(err) // b.Fatal must not be called from RunParallel's goroutines
			}
		}
	})
	reportOps(b)
}

// observeNext feeds wk's next event to obs; when check is set, it must be
// accepted if fresh and rejected otherwise.
func observeNext(obs observer, wk *worker, fresh, check bool) error {
	s, id := wk.next()
	ok, err := obs.Observe(s, id)
	if err != nil || (check && ok != fresh) {
		return fmt.Errorf("Observe(%q, %q): got accepted=%v err=%v, want accepted=%v", s, id, ok, err, fresh)
	}
	return nil
}

func reportOps(b *testing.B) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, "ops/s")
	}
}

// BenchmarkMachineParallelism is the control for every -cpu scaling claim:
// RunParallel over pure CPU work (hashing one string), no shared writes, no
// allocation. Its -cpu 2 over -cpu 1 throughput is how much parallelism the
// machine gave benchmarks during the run; on a shared or throttled machine
// it is well under 2, and lastevent's scaling is judged against it.
func BenchmarkMachineParallelism(b *testing.B) {
	var sum atomic.Uint64
	b.RunParallel(func(pb *testing.PB) {
		var h uint64
		for pb.Next() {
			h += xxhash.Sum64String(controlKey)
		}
		sum.Add(h)
	})
	sink += sum.Load()
	reportOps(b)
}

const controlKey = "session-000123/1700000000123"
