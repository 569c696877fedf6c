// Package core is lastevent's vocabulary: the Checkpoint a session persists
// (its newest event ID, Seq, and Window, the hashes of its last accepted
// IDs), the Backend contract every store implements, the sentinel errors,
// input validation, and Slot, the per-session dedup window and newest
// checkpoint.
//
// Most users need only the types; the Tracker in package shard does the work:
//
//	var cp core.Checkpoint          // {Session, EventID, Seq, Window}
//	var b core.Backend = memory.New() // or backends/dynamodb
//	t, _ := shard.New(b, shard.Config{})
//	accepted, err := t.Observe("session-1", "evt-42")
//	_, _, _ = cp, accepted, err
//
// Concurrency: Checkpoint and Result are plain values. Slot is safe for
// concurrent use (see its doc for which operations wait on which). Backend
// implementations must be safe for concurrent use.
package core
