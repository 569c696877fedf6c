package shard

import (
	"sync/atomic"

	"github.com/lastevent/lastevent/core"
)

// entry is one session in a shard: its core.Slot plus what the shard needs to
// flush it. Fields below "flusher-owned" are touched only by the shard's
// flusher goroutine, so they need no synchronization.
type entry struct {
	core.Slot
	session string

	// queued is true while the entry is on its shard's dirty stack. The
	// Observe that flips it false->true pushes the entry; the flusher sets it
	// false when it takes the entry off, before reading the checkpoint to
	// write, so an event stored after that read re-queues the entry.
	queued atomic.Bool
	// next links the dirty stack. Written only by the goroutine that won the
	// queued flag, read by the flusher after it took the stack.
	next *entry

	// fresh is true for a session created by Observe without asking the
	// backend; Resume then loads its stored history and rebases it.
	fresh atomic.Bool

	// flusher-owned.
	storedSeq   uint64 // highest Seq known durable in the backend
	failedSince uint64 // flush cycle of the first failure since the last success; 0 when healthy
	attempts    int    // consecutive failed writes
	cycle       uint64 // last flush cycle that took this entry, to dedupe a batch
}

func (e *entry) checkpoint() core.Checkpoint {
	id, seq := e.Last()
	return core.Checkpoint{Session: e.session, EventID: id, Seq: seq}
}
