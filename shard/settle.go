package shard

import (
	"errors"

	"github.com/lastevent/lastevent/core"
)

// settle is the cycle's fourth stage: it files the outcome of every
// checkpoint write sends. A stored checkpoint (written, or stale: an equal
// or newer one was durable already) is durable: the entry is clean unless
// newer events arrived, and no longer failing. Any other outcome is filed
// for a retry (file), which writes the then-newest checkpoint. It empties
// the batch and returns how many checkpoints were sent to the backend.
func (s *shard) settle(now int64) (sent int) {
	b := &s.batch
	var written, stale, retries uint64
	for i, e := range b.entries {
		r := b.results[i]
		if !errors.Is(r.Err, ErrBreakerOpen) { // else never sent: deferred
			sent++
			if e.attempts > 0 {
				retries++
			}
		}
		switch r.Outcome {
		case core.OutcomeWritten:
			written++
		case core.OutcomeStale:
			stale++
		default:
			s.file(e, b.cps[i], r.Error(), now)
			continue
		}
		storeMax(&e.storedSeq, b.cps[i].Seq)
		s.succeeded(e)
		e.writtenPeriod = uint32(s.period)
	}
	s.counts.written.Add(written)
	s.counts.stale.Add(stale)
	s.counts.retries.Add(retries)
	b.entries = reuse(b.entries, s.cfg.MaxBatch)
	b.cps = reuse(b.cps, s.cfg.MaxBatch)
	b.results = reuse(b.results, s.cfg.MaxBatch)
	return sent
}
