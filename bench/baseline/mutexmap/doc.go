// Package mutexmap is a faithful Go port of the checkpointer most Go stream
// consumers write, modelled on the DynamoDB checkpoint store of
// github.com/harlow/kinesis-consumer (store/ddb): one sync.Mutex-guarded map
// from session to its newest event ID, and one goroutine that, on every tick,
// writes every entry of the map. It exists only so that the benchmarks in
// lastevent/bench and the load generator's -compare mode can put it beside
// lastevent on the same core.Backend and workloads. The library never imports
// it; do not use it.
//
//	c := mutexmap.New(memory.New(), 100*time.Millisecond)
//	defer c.Close(ctx)
//	c.Observe("session-1", "42") // always accepted: no dedup
//
// What it does, wrong or missing on purpose, because the pattern does:
//
//   - No deduplication: Observe accepts every ID, replays included, so a
//     replayed event moves the checkpoint (and its Seq) like a new one.
//   - One mutex for every session: all cores serialize on it, on every event.
//   - Every tick writes every entry the map holds, changed or not, one
//     Backend.Store call per entry, while holding the mutex: Observe blocks
//     for the whole write, and backend writes per second grow with the
//     number of sessions ever seen, not with the events.
//   - The ticker drops the write error; only Close returns it. A failed
//     entry stops that tick's writes, and the next tick starts over.
//   - Entries are never removed: the map grows without bound.
//
// Concurrency: all methods are safe for concurrent use. Close stops the
// ticker goroutine, writes once more and returns that write's error.
package mutexmap
