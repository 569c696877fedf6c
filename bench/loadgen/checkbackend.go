package main

import (
	"context"
	"sync/atomic"

	"github.com/lastevent/lastevent/core"
)

// checkingBackend is a core.Backend that forwards to another backend and
// checks what the tracker asks it to store: a checkpoint whose Seq is lower
// than one already sent for the same session is a regression, a stored
// checkpoint moving backwards. It runs on the tracker's flushers, off the
// Observe path.
//
// The highest Seq per session lives in a slice indexed by the session's
// number (see sessionIndex), allocated up front: no map lookup per write,
// and no growth while memory is being measured.
//
// It is not backends/fault's Checker on purpose: that one keeps a map entry
// per session (about 63 B each, plus the retained event ID) and allocates
// per write, which would land in the bytes-per-session this tool measures;
// and it judges what the store reports written, while this one judges what
// the tracker sends. With -fault-rate or -outage the fault layer sits below
// this checker, so it still sees every checkpoint the tracker sends.
//
// Safe for concurrent use.
type checkingBackend struct {
	next core.Backend

	maxSeq      []atomic.Uint64 // by session index
	regressions atomic.Uint64
	unknown     atomic.Uint64 // checkpoints of sessions the load generator did not create
	storeCalls  atomic.Uint64
	submitted   atomic.Uint64 // checkpoints passed to Store
	written     atomic.Uint64 // checkpoints the next backend reported written
}

func newCheckingBackend(next core.Backend, sessions int) *checkingBackend {
	return &checkingBackend{next: next, maxSeq: make([]atomic.Uint64, sessions)}
}

// Store records each checkpoint's Seq, counting a regression when it is lower
// than the highest Seq sent before for its session, then forwards the batch.
func (b *checkingBackend) Store(ctx context.Context, batch []core.Checkpoint, results []core.Result) {
	b.storeCalls.Add(1)
	b.submitted.Add(uint64(len(batch)))
	for _, cp := range batch {
		i, ok := sessionIndex(cp.Session)
		if !ok || i >= len(b.maxSeq) {
			b.unknown.Add(1)
			continue
		}
		hi := &b.maxSeq[i]
		for {
			prev := hi.Load()
			if cp.Seq < prev {
				b.regressions.Add(1)
				break
			}
			if cp.Seq == prev || hi.CompareAndSwap(prev, cp.Seq) {
				break
			}
		}
	}
	b.next.Store(ctx, batch, results)
	var n uint64
	for _, r := range results {
		if r.Outcome == core.OutcomeWritten {
			n++
		}
	}
	b.written.Add(n)
}

func (b *checkingBackend) Load(ctx context.Context, sessions []string) (map[string]core.Checkpoint, error) {
	return b.next.Load(ctx, sessions)
}

func (b *checkingBackend) Delete(ctx context.Context, session string) error {
	return b.next.Delete(ctx, session)
}

var _ core.Backend = (*checkingBackend)(nil)
