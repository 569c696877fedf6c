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
// stay dirty and are retried with the newest checkpoint, never a stale copy.
//
// Concurrency contract: every Tracker method is safe for concurrent use.
// Observe is linearizable per session and never blocks on I/O; LastEventID
// and Checkpoint are wait-free. Flush is a barrier for the checkpoints
// accepted before it was called. After Close, every method returns ErrClosed.
package shard
