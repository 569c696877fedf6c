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

	// queued is true while the entry waits for its shard's flusher: on the
	// dirty stack, or held by the flusher for its next tick. It is set, and
	// the entry pushed, only under the slot's writer flag, in the same
	// critical section as the Observe that made the entry dirty, so no other
	// writer of the session can see queued == true before the push is done.
	// The flusher sets it false when it takes the entry, before reading the
	// checkpoint to write, so an event stored after that read re-queues the
	// entry.
	queued atomic.Bool
	// attempts counts consecutive failed writes. Flusher-owned; it sits
	// here to fill the padding after queued, which keeps entry in the
	// 112-byte size class (pinned by TestEntrySize).
	attempts int32
	// next links the dirty stack. Written only by the pusher (under the
	// writer flag, while queued was false), read by the flusher after it took
	// the stack.
	next *entry
	// storedSeq is the highest Seq this tracker knows durable in the
	// backend. Written only by the flusher; Resume reads it.
	storedSeq atomic.Uint64

	// flusher-owned.
	failedSince   uint64 // flush cycle of the first failure since the last success; 0 when healthy
	cycle         uint64 // last flush cycle that took this entry, to dedupe a batch
	writtenPeriod uint64 // tick period of the last successful write
}

func (e *entry) checkpoint() core.Checkpoint {
	id, seq := e.Last()
	return core.Checkpoint{Session: e.session, EventID: id, Seq: seq}
}
