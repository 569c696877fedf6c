package fault

import (
	"time"

	"github.com/lastevent/lastevent/core"
)

// fate is what a Store call does with one item.
type fate uint8

const (
	fatePass        fate = iota // forwarded to the next backend
	fateRetryable               // fails retryable, by ErrorRate
	fatePermanent               // fails permanent, by ErrorRate
	fateUnprocessed             // in the failed tail of a partial batch
	fateReplyLost               // forwarded; a success is reported failed
)

// drawStore draws the faults of one Store call of len(fates) items under
// one lock: its added delay, whether it is throttled, and else each item's
// fate. The draw order is fixed (jitter, throttle, partial cut, then per
// item error, permanence, lost reply) so a seed replays exactly; a rate of
// 0 draws nothing.
func (b *Backend) drawStore(cfg *Config, fates []fate) (delay time.Duration, throttled bool) {
	b.rngMu.Lock()
	defer b.rngMu.Unlock()
	delay = cfg.Latency + b.jitter(cfg.Jitter)
	if b.hit(cfg.ThrottleRate) {
		return delay, true
	}
	n, cut := len(fates), len(fates)
	if n >= 2 && b.hit(cfg.PartialRate) {
		cut = 1 + b.rng.IntN(n-1) // leaves 1 to n-1 items unprocessed
	}
	for i := range fates {
		switch {
		case i >= cut:
			fates[i] = fateUnprocessed
		case b.hit(cfg.ErrorRate):
			fates[i] = fateRetryable
			if b.hit(cfg.PermanentShare) {
				fates[i] = fatePermanent
			}
		case b.hit(cfg.LostReplyRate):
			fates[i] = fateReplyLost
		default:
			fates[i] = fatePass
		}
	}
	return delay, false
}

// drawCall draws the delay of a Load or Delete call and whether it fails:
// class is nil, core.ErrRetryable or core.ErrPermanent.
func (b *Backend) drawCall(latency, jitter time.Duration, rate, permanentShare float64) (delay time.Duration, class error) {
	if jitter == 0 && rate == 0 {
		return latency, nil
	}
	b.rngMu.Lock()
	defer b.rngMu.Unlock()
	delay = latency + b.jitter(jitter)
	if b.hit(rate) {
		class = core.ErrRetryable
		if b.hit(permanentShare) {
			class = core.ErrPermanent
		}
	}
	return delay, class
}

// hit draws an event of probability p. The caller holds rngMu.
func (b *Backend) hit(p float64) bool {
	return p > 0 && b.rng.Float64() < p
}

// jitter draws a duration in [0, max). The caller holds rngMu.
func (b *Backend) jitter(max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	return time.Duration(b.rng.Int64N(int64(max)))
}
