package fault

import (
	"context"
	"fmt"

	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/internal/backoff"
)

// Store applies the faults in force to one batch, in this order: an ended
// ctx fails every item (retryable, wrapping ctx.Err()); an outage fails
// every item at once; the added latency is waited (ctx ending during it
// fails every item); a throttled call fails every item; otherwise a partial
// batch fails its tail, ErrorRate fails single items, and the rest go to
// the next backend in one Store call, in their original order, with their
// results copied back (lost replies turned into failures). Every result is
// filled. Store keeps neither slice after it returns.
func (b *Backend) Store(ctx context.Context, batch []core.Checkpoint, results []core.Result) {
	n := len(batch)
	b.c.storeCalls.Add(1)
	b.c.storeItems.Add(uint64(n))
	if err := ctx.Err(); err != nil {
		b.c.canceled.Add(uint64(n))
		failCtx(batch, results, err)
		return
	}
	st := b.state.Load()
	if b.inOutage(st) {
		b.c.outageCalls.Add(1)
		b.c.outageItems.Add(uint64(n))
		failAll(batch, results, ErrOutage)
		return
	}
	if st.quiet || n == 0 {
		b.forward(ctx, batch, results)
		return
	}

	sc := b.getScratch(n)
	defer b.putScratch(sc)
	delay, throttled := b.drawStore(&st.cfg, sc.fates)
	if err := backoff.Wait(ctx, delay, nil); err != nil {
		b.c.canceled.Add(uint64(n))
		failCtx(batch, results, err)
		return
	}
	if throttled {
		b.c.throttled.Add(uint64(n))
		failAll(batch, results, ErrThrottled)
		return
	}

	forwarded := 0
	for i, f := range sc.fates {
		switch f {
		case fatePass, fateReplyLost:
			forwarded++
		case fateRetryable:
			b.c.retryable.Add(1)
			results[i] = failed(core.ErrRetryable, ErrInjected, batch[i])
		case fatePermanent:
			b.c.permanent.Add(1)
			results[i] = failed(core.ErrPermanent, ErrInjected, batch[i])
		case fateUnprocessed:
			b.c.unprocessed.Add(1)
			results[i] = failed(core.ErrRetryable, ErrUnprocessed, batch[i])
		}
	}
	switch forwarded {
	case n: // nothing failed before the next backend: no copy
		b.forward(ctx, batch, results)
		b.loseReplies(batch, results, sc.fates, nil)
		return
	case 0:
		return
	}
	for i, f := range sc.fates {
		if f == fatePass || f == fateReplyLost {
			sc.index = append(sc.index, i)
			sc.batch = append(sc.batch, batch[i])
		}
	}
	if cap(sc.results) < forwarded {
		sc.results = make([]core.Result, forwarded)
	}
	sc.results = sc.results[:forwarded] // zero: putScratch clears what a call used
	b.forward(ctx, sc.batch, sc.results)
	for j, i := range sc.index {
		results[i] = sc.results[j]
	}
	b.loseReplies(batch, results, sc.fates, sc.index)
}

// forward passes a batch to the next backend and counts it.
func (b *Backend) forward(ctx context.Context, batch []core.Checkpoint, results []core.Result) {
	b.c.forwarded.Add(uint64(len(batch)))
	b.next.Store(ctx, batch, results)
}

// loseReplies turns the stored result of each forwarded item fated to lose
// its reply into a retryable failure. index lists the forwarded items'
// positions, or is nil when the whole batch was forwarded.
func (b *Backend) loseReplies(batch []core.Checkpoint, results []core.Result, fates []fate, index []int) {
	lose := func(i int) {
		if fates[i] == fateReplyLost && results[i].Stored() {
			b.c.lostReplies.Add(1)
			results[i] = failed(core.ErrRetryable, ErrReplyLost, batch[i])
		}
	}
	if index == nil {
		for i := range fates {
			lose(i)
		}
		return
	}
	for _, i := range index {
		lose(i)
	}
}

// failed is the result of an injected failure of cp: class is
// core.ErrRetryable or core.ErrPermanent, kind ErrInjected or one of the
// kinds wrapping it.
func failed(class, kind error, cp core.Checkpoint) core.Result {
	return core.Result{Outcome: core.OutcomeFailed,
		Err: fmt.Errorf("%w: %w: session %q seq %d", class, kind, cp.Session, cp.Seq)}
}

// failAll fails every item of batch, retryable, with kind.
func failAll(batch []core.Checkpoint, results []core.Result, kind error) {
	for i, cp := range batch {
		results[i] = failed(core.ErrRetryable, kind, cp)
	}
}

// failCtx fails every item of batch because ctx ended with err.
func failCtx(batch []core.Checkpoint, results []core.Result, err error) {
	for i, cp := range batch {
		results[i] = core.Result{Outcome: core.OutcomeFailed,
			Err: fmt.Errorf("%w: fault: session %q seq %d: %w", core.ErrRetryable, cp.Session, cp.Seq, err)}
	}
}

// scratch holds a Store call's per-item fates and the sub-batch it passes
// on, reused through a sync.Pool so a steady fault rate costs no
// allocation per call beyond the injected errors.
type scratch struct {
	fates   []fate
	index   []int
	batch   []core.Checkpoint
	results []core.Result
}

func (b *Backend) getScratch(n int) *scratch {
	sc, _ := b.scratch.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	if cap(sc.fates) < n {
		sc.fates = make([]fate, n)
	}
	sc.fates = sc.fates[:n]
	return sc
}

// putScratch clears the references a call left (session strings, errors)
// so the pool does not keep them alive, and returns sc to the pool.
func (b *Backend) putScratch(sc *scratch) {
	clear(sc.batch)
	clear(sc.results)
	sc.index, sc.batch, sc.results = sc.index[:0], sc.batch[:0], sc.results[:0]
	b.scratch.Put(sc)
}
