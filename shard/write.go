package shard

import (
	"sync/atomic"

	"github.com/lastevent/lastevent/core"
)

// write is the cycle's third stage: it sends the batch's checkpoints to the
// backend, MaxBatch per Store call, each call through the gate, and leaves
// the outcome of cps[i] in results[i] for settle. An entry whose newest
// checkpoint is already durable (a duplicate queued it, or a retry whose
// newer write won meanwhile) has nothing to write and succeeds here.
func (s *shard) write() {
	b := &s.batch
	kept := 0
	for i, e := range b.entries {
		if b.cps[i].Seq <= e.storedSeq.Load() {
			s.succeeded(e)
			continue
		}
		b.entries[kept], b.cps[kept] = e, b.cps[i]
		kept++
	}
	clear(b.entries[kept:])
	clear(b.cps[kept:])
	b.entries, b.cps = b.entries[:kept], b.cps[:kept]
	if cap(b.results) < kept {
		b.results = make([]core.Result, kept)
	}
	b.results = b.results[:kept]
	clear(b.results)
	for i := 0; i < kept; i += s.cfg.MaxBatch {
		j := min(i+s.cfg.MaxBatch, kept)
		s.store(b.cps[i:j], b.results[i:j])
	}
}

// storeMax raises v to seq if seq is higher.
func storeMax(v *atomic.Uint64, seq uint64) {
	for {
		cur := v.Load()
		if seq <= cur || v.CompareAndSwap(cur, seq) {
			return
		}
	}
}
