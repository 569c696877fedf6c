// Package bench holds the core performance benchmarks of lastevent: the
// per-event cost of Tracker.Observe and the heap a session costs. It has no
// API; everything lives in its _test.go files, and docs/benchmarks.md
// publishes the numbers with the command that produced each of them.
//
// What is measured:
//
//   - BenchmarkObserve: Tracker.Observe of one warm session (its window
//     already full), serial, for a new ID (case=new: accepted, one 24-byte
//     record allocated) and a replayed one (case=dup: rejected, nothing
//     allocated), beside impl=floor, the least work any design must do per
//     event: one xsync.MapOf Load of the session, xxhash.Sum64String of the
//     ID and one atomic.Pointer Store of a fresh 24-byte record.
//   - BenchmarkObserveVsFloor: the same two cases, floor and Tracker
//     interleaved, reporting lastevent/floor.
//   - BenchmarkCompare: lastevent side by side with the baselines of
//     bench/baseline (taskperevent: one goroutine spawned per event,
//     persistence errors dropped, two locks per event, a linear scan of the
//     recent IDs, unbounded memory; mutexmap: one mutex-guarded map written
//     whole by a ticker, no dedup) and the floor, on the same memory
//     backend, named impl=…/case=new|dup/mode=serial|parallel|hot/sessions=1k|1M/window=128|4096.
//     mode=parallel splits the sessions among GOMAXPROCS goroutines (one
//     writer per session); mode=hot puts every goroutine on one session.
//     Run with -cpu 1,2 for scaling; ops/s is reported.
//   - BenchmarkScenario: the small-relay scenario (100 sessions, 10%
//     replays, 100ms flush) unpaced, per implementation, reporting
//     writes/accepted beside its bound, goroutines/event and B/session.
//   - TestGoroutinesCreatedPerEvent, TestWritesPerAcceptedWithinBound,
//     TestBytesPerSessionVsTaskPerEvent: the structural targets that do not
//     depend on the machine's speed, asserted against the baselines.
//   - BenchmarkBytesPerSession and TestBytesPerSession: live heap per session
//     (session key, map entry, slot, window and newest record included) after
//     4 and after 1000 events at the default window.
//
// Targets (see docs/benchmarks.md): a new ID costs at most 1 allocation and
// at most 1.3x the floor; a duplicate costs 0 allocations and less than the
// floor; a session costs at most 320 B after 4 events and 2 KiB after 1000.
// Time targets are ratios to the floor measured in the same run, never
// absolute numbers, because the machines that run them differ. Against the
// baselines: >= 20x lower ns/op than taskperevent, >= 2x the parallel
// throughput of mutexmap on many sessions and on one hot session, and
// parallel throughput at -cpu 2 >= 1.7x that at -cpu 1.
//
// Event IDs and session names are formatted before the timer starts, so
// formatting is not measured (except in BenchmarkScenario, which formats
// each ID as a server receives it). The benchmarks verify what they measure: a
// case=new Observe that is not accepted, or a case=dup one that is, fails the
// benchmark.
//
// Run everything in one go test invocation, so ratios compare one run:
//
//	go test -run '^$' -bench . -benchmem -cpu 1,2 -count 6 ./bench | tee /tmp/bench.txt
//	benchstat -filter '.name:Observe' -col /impl /tmp/bench.txt
//	benchstat -filter '.name:ObserveVsFloor' /tmp/bench.txt
//	benchstat -filter '.name:Compare' -col /impl /tmp/bench.txt
//
// (make bench runs these and the other tables.)
// (benchstat is golang.org/x/perf/cmd/benchstat; docs/benchmarks.md has the
// pinned version and the other tables.) BenchmarkObserveVsFloor runs the
// floor and the Tracker in alternating chunks and reports their time ratio,
// which a shared machine's changing load disturbs far less than the ratio of
// two separate benchmarks.
//
// go test ./bench (no -bench) runs the tests only: TestBytesPerSession and
// the side-by-side structural tests, in well under a minute with -race.
package bench
