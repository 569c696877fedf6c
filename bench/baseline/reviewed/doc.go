// Package reviewed is a faithful Go port of the event tracker that the
// architecture review (docs/design.md cites it; ../shared/seed-architecture-review.md)
// found unfit for production. It exists only so that the benchmarks in
// lastevent/bench and the load generator's -compare mode can put the design
// users would otherwise write beside lastevent, on the same core.Backend and
// the same workloads. The library never imports it; do not use it.
//
//	t := reviewed.New(memory.New(), reviewed.DefaultWindow)
//	defer t.Close(ctx)
//	accepted, _ := t.Observe("session-1", "42") // spawns one goroutine per accepted event
//	id, ok := t.LastEventID("session-1")
//
// What it does wrong on purpose, because the reviewed design does:
//
//   - One goroutine per accepted event (the review's tokio::spawn per event)
//     that calls Backend.Store with a one-item batch and drops the result: a
//     failed write is neither retried nor reported.
//   - Sessions live in one map behind one sync.RWMutex; every Observe takes
//     its read lock, so all cores share one reader count.
//   - Per session, the last Window accepted IDs are kept as strings in a
//     slice behind a sync.RWMutex and searched linearly: O(Window) string
//     compares per event. The oldest ID leaves by reslicing (ids = ids[1:]),
//     the idiomatic Go stand-in for the review's VecDeque::pop_front, so the
//     dropped strings stay reachable in the backing array until append
//     reallocates it.
//   - The duplicate check (read lock) and the append (write lock) are two
//     critical sections, as in the review's code: two concurrent Observes of
//     the same new ID on one session can both be accepted.
//   - The newest ID and its sequence number sit behind a second lock, taken
//     for every accepted event (the review's "dual RwLock pattern").
//   - No input validation and no eviction: sessions grow without bound.
//
// The per-event goroutines write checkpoints out of order; the backend's
// monotonic Seq contract (core.Backend) keeps the newest one, and reports
// the older ones stale. The review's store had no such guard.
//
// Concurrency: all methods are safe for concurrent use. Close waits for
// every per-event goroutine, so a test that closes its Tracker leaks none.
package reviewed
