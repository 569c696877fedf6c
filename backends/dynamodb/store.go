package dynamodb

import (
	"context"
	"errors"
	"fmt"

	"github.com/lastevent/lastevent/core"
)

// maxBatchWrite is BatchWriteItem's limit of requests per call.
const maxBatchWrite = 25

// Store writes batch and fills results[i] for batch[i], as core.Backend
// requires. In Conditional mode each checkpoint is one UpdateItem and a
// refused condition is core.OutcomeStale; in Batch mode the checkpoints go
// in BatchWriteItem groups of 25 (within one call, only the highest Seq of a
// session is written and the others are reported stale). The requests run
// on the worker goroutines, at most Config.MaxInFlight at once over every
// concurrent call; Store waits for them on the caller's goroutine.
//
// Failures are *Error values wrapping core.ErrRetryable or
// core.ErrPermanent and the SDK's error. When ctx ends, the checkpoints not
// yet written fail retryably wrapping ctx.Err(). A checkpoint with an empty
// session or Seq 0, or whose window fails core.Checkpoint.CheckWindow (the
// error then wraps core.ErrInvalidWindow), fails permanently without a
// request. Store does not retain batch or results; it allocates the
// requests (with one copy of each window's bytes) and one small record per
// call, and checking a window of K hashes sorts a copy of them (8·K bytes).
func (b *Backend) Store(ctx context.Context, batch []core.Checkpoint, results []core.Result) {
	if len(batch) == 0 {
		return
	}
	op := "UpdateItem"
	if b.cfg.Mode == Batch {
		op = "BatchWriteItem"
	}
	if b.closed.Load() {
		for i, cp := range batch {
			results[i] = failed(closedError(op, cp.Session, cp.Seq))
		}
		return
	}
	c := &call{ctx: ctx, now: b.cfg.Now(), batch: batch, results: results, order: make([]int, 0, len(batch))}
	for i, cp := range batch {
		if cp.Session == "" || cp.Seq == 0 {
			results[i] = failed(&Error{Backend: backendName, Op: op, Session: cp.Session, Seq: cp.Seq, Code: CodeInvalidCheckpoint,
				Err: errors.New("empty session or zero seq")})
			continue
		}
		if err := cp.CheckWindow(); err != nil {
			results[i] = failed(&Error{Backend: backendName, Op: op, Session: cp.Session, Seq: cp.Seq, Code: CodeInvalidCheckpoint, Err: err})
			continue
		}
		c.order = append(c.order, i)
	}
	size := 1
	if b.cfg.Mode == Batch {
		c.kind, size = kindBatchWrite, maxBatchWrite
		b.keepNewest(c)
	}
	n, stopped := b.dispatch(c, len(c.order), size)
	for _, i := range c.order[n:] {
		cp := batch[i]
		if errors.Is(stopped, ErrClosed) {
			results[i] = failed(closedError(op, cp.Session, cp.Seq))
		} else {
			results[i] = failed(&Error{Backend: backendName, Op: op, Session: cp.Session, Seq: cp.Seq, Code: CodeCanceled, Retryable: true, Err: stopped})
		}
	}
}

// keepNewest drops from c.order every checkpoint of a session that the
// same call also holds with a higher Seq (or the same Seq earlier), and
// reports it stale: BatchWriteItem rejects a call naming one key twice, and
// the newest checkpoint is the one the session needs.
func (b *Backend) keepNewest(c *call) {
	newest := make(map[string]int, len(c.order)) // session -> index into batch
	dup := false
	for _, i := range c.order {
		cp := c.batch[i]
		if j, ok := newest[cp.Session]; ok {
			dup = true
			if c.batch[j].Seq >= cp.Seq {
				continue
			}
		}
		newest[cp.Session] = i
	}
	if !dup {
		return
	}
	kept := c.order[:0]
	for _, i := range c.order {
		if newest[c.batch[i].Session] == i {
			kept = append(kept, i)
		} else {
			c.results[i] = core.Result{Outcome: core.OutcomeStale}
		}
	}
	c.order = kept
}

// failed is the result of a checkpoint that was not written.
func failed(err *Error) core.Result {
	return core.Result{Outcome: core.OutcomeFailed, Err: err}
}

// ctxFailure is the failure of a checkpoint whose call's context ended
// before its request was made.
func ctxFailure(op string, cp core.Checkpoint, ctx context.Context) core.Result {
	return failed(&Error{Backend: backendName, Op: op, Session: cp.Session, Seq: cp.Seq, Code: CodeCanceled, Retryable: true,
		Err: ctxErr("not sent", ctx)})
}

// ctxErr wraps ctx.Err() (what callers test with errors.Is) and, when the
// context was canceled with a different cause, that cause too.
func ctxErr(msg string, ctx context.Context) error {
	if cause := context.Cause(ctx); cause != nil && cause != ctx.Err() {
		return fmt.Errorf("%s: %w (cause: %w)", msg, ctx.Err(), cause)
	}
	return fmt.Errorf("%s: %w", msg, ctx.Err())
}
