// Package taskperevent is the event tracker a first attempt at the problem
// usually produces, ported to Go so that it can be measured: one goroutine
// spawned per event to persist it, persistence errors dropped, two locks per
// event, a linear scan of the recent IDs, and memory that grows without
// bound. It exists only so that the benchmarks in lastevent/bench and the
// load generator's -compare mode can put that design beside lastevent, on
// the same core.Backend and the same workloads. The library never imports
// it; do not use it.
//
//	t := taskperevent.New(memory.New(), taskperevent.DefaultWindow)
//	defer t.Close(ctx)
//	accepted, _ := t.Observe("session-1", "42") // spawns one goroutine per accepted event
//	id, ok := t.LastEventID("session-1")
//
// What it does wrong on purpose, because the design does:
//
//   - One goroutine per accepted event that calls Backend.Store with a
//     one-item batch and drops the result: a failed write is neither
//     retried nor reported.
//   - Sessions live in one map behind one sync.RWMutex; every Observe takes
//     its read lock, so all cores share one reader count.
//   - Per session, the last Window accepted IDs are kept as strings in a
//     slice behind a sync.RWMutex and searched linearly: O(Window) string
//     compares per event. The oldest ID leaves by reslicing (ids = ids[1:]),
//     the idiomatic way to pop the front of a slice used as a queue, so the
//     dropped strings stay reachable in the backing array until append
//     reallocates it.
//   - The duplicate check (read lock) and the append (write lock) are two
//     critical sections: two concurrent Observes of the same new ID on one
//     session can both be accepted.
//   - The newest ID and its sequence number sit behind a second lock, taken
//     for every accepted event: two locks per event.
//   - No input validation and no eviction: sessions grow without bound.
//
// The per-event goroutines write checkpoints out of order; the backend's
// monotonic Seq contract (core.Backend) keeps the newest one, and reports
// the older ones stale. A store without that guard would let an older
// checkpoint overwrite a newer one.
//
// Concurrency: all methods are safe for concurrent use. Close waits for
// every per-event goroutine, so a test that closes its Tracker leaks none.
package taskperevent
