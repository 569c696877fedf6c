// Package memory is the embedded core.Backend: checkpoints in a concurrent
// in-process map, monotonic per session, with counters a test can read.
// It keeps each checkpoint whole, Window included (8 bytes per hash, shared
// with the caller's immutable string, not copied), and refuses a checkpoint
// whose Window does not belong to it (core.Checkpoint.CheckWindow), so a
// Load never returns one.
//
//	b := memory.New()
//	t, err := shard.New(b, shard.Config{})
//	// ... t.Observe, t.Flush ...
//	cp, ok := b.Get("session-1") // what is stored
//	fmt.Println(b.Stats().Writes)
//
// Concurrency: a Backend is safe for concurrent use by any number of
// goroutines. It starts no goroutines and needs no Close.
package memory
