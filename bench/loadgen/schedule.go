package main

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"sort"
	"time"
)

// schedule says when each of a worker's events is due and for which of its
// sessions: event k (k = 0, 1, 2, ...) is due at at(k), for session(k), and
// dueBy(t) events are due by elapsed time t. It is fixed before the run.
//
// Steady (-burst 1): the worker's events are spread evenly, round-robin
// over its n sessions at n x rate events/s: event k is for session k mod n
// and due at (k+1)/(n x rate), so each session gets one every 1/rate.
//
// Bursts (-burst b > 1): each session sends b events spacing apart, then
// pauses; its bursts start period = b/rate apart, so its mean rate is still
// rate. Every session starts its cycle at a random phase in [0, period), so
// the worker's total load stays smooth while each session's is spiky. One
// cycle's n x b events are listed in slots, sorted by their offset in the
// cycle; the cycle repeats every period. A burst that begins late in the
// cycle wraps around to its start, which keeps every session's spacing.
type schedule struct {
	n      int
	rate   float64       // steady: events/s over all n sessions
	period time.Duration // bursts: one cycle
	slots  []slot        // bursts: one cycle's events, by offset
}

// slot is one event of a burst cycle.
type slot struct {
	offset  time.Duration // from the start of the cycle
	session int32
}

// newSchedule returns the schedule of n sessions under cfg's -rate, -burst
// and -burst-spacing, drawing burst phases from rng.
func newSchedule(n int, cfg config, rng *rand.Rand) schedule {
	if cfg.Burst <= 1 {
		return schedule{n: n, rate: cfg.Rate * float64(n)}
	}
	period := cfg.burstPeriod()
	slots := make([]slot, 0, n*cfg.Burst)
	for s := range n {
		phase := time.Duration(rng.Int64N(int64(period)))
		for j := range cfg.Burst {
			off := (phase + time.Duration(j)*cfg.BurstSpacing) % period
			slots = append(slots, slot{offset: off, session: int32(s)})
		}
	}
	slices.SortStableFunc(slots, func(a, b slot) int { return cmp.Compare(a.offset, b.offset) })
	return schedule{n: n, rate: cfg.Rate * float64(n), period: period, slots: slots}
}

// dueBy returns how many events are due by elapsed.
func (s *schedule) dueBy(elapsed time.Duration) uint64 {
	if elapsed < 0 {
		return 0
	}
	if s.slots == nil {
		return uint64(elapsed.Seconds() * s.rate)
	}
	cycles, rem := elapsed/s.period, elapsed%s.period
	inCycle := sort.Search(len(s.slots), func(i int) bool { return s.slots[i].offset > rem })
	return uint64(cycles)*uint64(len(s.slots)) + uint64(inCycle)
}

// session returns the session index of event k.
func (s *schedule) session(k uint64) int {
	if s.slots == nil {
		return int(k % uint64(s.n))
	}
	return int(s.slots[k%uint64(len(s.slots))].session)
}

// at returns when event k is due: the least elapsed time by which dueBy
// counts it (up to the rounding of a float rate, for steady load).
func (s *schedule) at(k uint64) time.Duration {
	if s.slots == nil {
		return time.Duration(float64(k+1) / s.rate * float64(time.Second))
	}
	per := uint64(len(s.slots))
	return time.Duration(k/per)*s.period + s.slots[k%per].offset
}
