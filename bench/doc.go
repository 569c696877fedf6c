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
//   - BenchmarkObserveConcurrent: the same across 1k sessions (split among
//     the goroutines, one writer per session) and on one hot session, serial
//     and with b.RunParallel (GOMAXPROCS goroutines), with ops/s reported. On
//     the hot session every goroutine contends for the slot's writer flag.
//   - BenchmarkBytesPerSession and TestBytesPerSession: live heap per session
//     (session key, map entry, slot, window and newest record included) after
//     4 and after 1000 events at the default window.
//
// Targets (see docs/benchmarks.md): a new ID costs at most 1 allocation and
// at most 1.3x the floor; a duplicate costs 0 allocations and less than the
// floor; a session costs at most 320 B after 4 events and 2 KiB after 1000.
// Time targets are ratios to the floor measured in the same run, never
// absolute numbers, because the machines that run them differ.
//
// Event IDs and session names are formatted before the timer starts, so
// formatting is not measured. The benchmarks verify what they measure: a
// case=new Observe that is not accepted, or a case=dup one that is, fails the
// benchmark.
//
// Run everything in one go test invocation, so ratios compare one run:
//
//	go test -run '^$' -bench . -benchmem -count 6 ./bench | tee /tmp/bench.txt
//	benchstat -filter '.name:Observe' -col /impl /tmp/bench.txt
//	benchstat -filter '.name:ObserveVsFloor' /tmp/bench.txt
//
// (benchstat is golang.org/x/perf/cmd/benchstat; docs/benchmarks.md has the
// pinned version and the other tables.) BenchmarkObserveVsFloor runs the
// floor and the Tracker in alternating chunks and reports their time ratio,
// which a shared machine's changing load disturbs far less than the ratio of
// two separate benchmarks.
//
// go test ./bench (no -bench) runs only TestBytesPerSession.
package bench
