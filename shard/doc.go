// Package shard holds the Tracker, the type users hold: it deduplicates
// Server-Sent-Events IDs per session, knows each session's newest event ID
// (the Last-Event-ID to send on reconnect), and persists that checkpoint to
// a core.Backend without doing any work per event beyond memory updates.
//
//	t, err := shard.New(memory.New(), shard.Config{}) // zero Config: defaults
//	if err != nil { ... }
//	defer t.Close(ctx)
//	cp, _ := t.Resume(ctx, "session-1")          // after a restart: continue the stored Seq
//	accepted, err := t.Observe("session-1", "42") // false: a replayed duplicate
//	id, ok := t.LastEventID("session-1")          // send as Last-Event-ID
//
// Sessions hash to shards (xxhash, a power of two). Each shard owns its
// sessions in an xsync.MapOf and exactly one flusher goroutine, started by
// New and stopped by Close. A session's first accepted event since its last
// write pushes it once onto the shard's lock-free dirty stack; the flusher
// writes only the newest checkpoint of each dirty session every
// FlushInterval, or sooner when MaxBatch sessions are dirty. Failed writes
// stay dirty and are retried with the newest checkpoint, never a stale copy,
// after an exponential backoff with full jitter; a circuit breaker per shard
// stops backend calls during an outage except one probe per reset timeout.
// A session Observed without Resume loads its stored checkpoint before its
// first write, so its Seq continues the stored one (until then its Seq
// counts from 1: call Resume first when the exact Seq matters at once).
//
// Memory is bounded by Config.MaxSessions and Config.IdleTTL: flushers evict
// clean sessions (CLOCK), never one whose newest checkpoint is not stored.
// An evicted session comes back transparently on its next Observe or Resume.
// Delete forgets a session that has ended: memory, pending write and stored
// checkpoint.
//
// Every failed write reaches Config.OnError and the rate-limited Logger.
// Tracker.Metrics returns the tracker's own VictoriaMetrics set (event
// counts collected by the flushers, so Observe writes no shared counter);
// Tracker.Stats the same numbers as a struct. docs/reliability.md and docs/operations.md explain both.
//
// Concurrency contract: every Tracker method is safe for concurrent use.
// Observe is linearizable per session and never blocks on I/O; LastEventID
// and Checkpoint are wait-free. Flush is a barrier for the Observes that
// returned before it was called. After Close, every method returns ErrClosed.
package shard
