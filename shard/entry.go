package shard

import (
	"math"
	"sync/atomic"

	"github.com/lastevent/lastevent/core"
)

// entry is one session in a shard: its core.Slot plus what the shard needs to
// flush and evict it. Fields marked flusher-owned are touched only by the
// shard's flusher goroutine, so they need no synchronization.
//
// Layout: 128 bytes, exactly a size class, so entries start on a cache
// line. The first line holds everything Observe touches — the slot (newest
// record, writer flag, ring bookkeeping, window), the state word, the
// duplicate count, the shard index and the dirty-stack link — so an event
// costs one line of its entry, not two; the second line is the flusher's.
// TestEntryLayout pins both.
type entry struct {
	core.Slot // 48 bytes

	// state is the life state and flags of lifecycle.go.
	state atomic.Uint32
	// dups counts duplicates since the flusher last collected them: a plain
	// increment under the writer flag, so counting costs Observe no atomic
	// and no shared cache line (see countDuplicateLocked).
	dups uint16
	// shard is the index of the entry's shard in Tracker.shards: Observe
	// finds the session in the tracker's one map and its shard here,
	// without hashing the name a second time.
	shard uint16
	// next links the dirty stack. Written only by the pusher (under the
	// writer flag, while flagQueued was clear), read by the flusher after it
	// took the stack.
	next *entry

	session string
	// storedSeq is the highest Seq known durable in the backend: written by
	// the flusher after a stored write, and by Resume for a checkpoint it
	// loaded. An entry is clean when its Seq equals storedSeq.
	storedSeq atomic.Uint64
	// counted is the Seq up to which accepted events are in the shard's
	// counters: the flusher collects Seq-counted and the slot's duplicate
	// count when it takes the entry, so Observe updates no shared counter.
	// Guarded by the writer flag (Resume's renumbering moves it too).
	counted uint64

	// flusher-owned.
	failedSince uint64 // flush cycle of the first failure since the last success; 0 unless failing
	active      int64  // clock time (ns since New) of the last activity the flusher saw
	retryAt     int64  // clock time (ns since New) of the next attempt while failing
	// writtenPeriod is the tick period of the last successful write,
	// truncated to 32 bits: it is only compared with the current period,
	// and a false match after 2^32 ticks (49 days at a 1ms FlushInterval)
	// holds one session until the tick, which writes it anyway.
	writtenPeriod uint32
	attempts      uint16 // consecutive failed writes, saturating
}

// checkpoint returns the newest checkpoint without its window: wait-free,
// for readers.
func (e *entry) checkpoint() core.Checkpoint {
	id, seq := e.Last()
	return core.Checkpoint{Session: e.session, EventID: id, Seq: seq}
}

// persistableLocked returns the newest checkpoint with the hashes of the
// last k accepted IDs, as the flusher writes it. The caller holds the writer
// flag, so the record and the window are read in one hold and agree.
func (e *entry) persistableLocked(k int) core.Checkpoint {
	cp := e.checkpoint()
	cp.Window = e.WindowLocked(k)
	return cp
}

// countDuplicateLocked counts one duplicate; the caller holds the writer
// flag. When the 16-bit count fills it is reset and the full count (65535)
// is returned for the caller to add to the shard's counter; otherwise 0.
func (e *entry) countDuplicateLocked() (overflow uint64) {
	e.dups++
	if e.dups == math.MaxUint16 {
		e.dups = 0
		return math.MaxUint16
	}
	return 0
}

// takeDuplicatesLocked returns the duplicates counted since its last call
// and resets the count; the caller holds the writer flag.
func (e *entry) takeDuplicatesLocked() uint64 {
	n := e.dups
	e.dups = 0
	return uint64(n)
}
