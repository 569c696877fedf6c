package core

import (
	"context"
	"errors"
)

// Backend persists checkpoints. The tracker calls it only from its flushers
// and from Resume, never from Observe.
//
// # Contract
//
// Monotonic: a backend applies a checkpoint only if its Seq is higher than the
// Seq it already holds for that session. A checkpoint with an equal or lower
// Seq leaves the stored one untouched and is reported OutcomeStale, which is
// not an error: a newer checkpoint is already durable. This is what lets
// retries, restarts and several writers never move a stored checkpoint
// backwards.
//
// Atomic: a checkpoint's EventID, Seq and Window are one value. Store
// applies all three together, in the same item or row and under the same
// monotonic condition, or none of them; a checkpoint with an empty Window
// leaves no window stored (not an older one, which would no longer end
// with the stored EventID). Load returns the Window as it was stored. A
// stored window that is malformed or not its checkpoint's (see
// Checkpoint.CheckWindow; only a foreign writer or corruption produces
// one) fails the Load with an error wrapping ErrPermanent and
// ErrInvalidWindow that names the session; it never panics and never
// returns the checkpoint without its window.
//
// Store writes a batch and reports one Result per item: results[i] belongs to
// batch[i], and len(results) == len(batch). The backend must fill every
// result; a result left at its zero value counts as a retryable failure. A
// failed item's Err wraps ErrRetryable or ErrPermanent (see IsRetryable) and
// names the session and seq. Store must honour ctx: when ctx ends, the items
// not yet written are reported failed with an error wrapping ErrRetryable and
// ctx.Err(). Store does not retain batch or results after it returns.
//
// Load returns the stored checkpoint of each named session that has one;
// sessions without one are absent from the map. An error means the load as a
// whole failed and no result may be trusted.
//
// Delete removes a session's checkpoint. Deleting a missing session is not
// an error. After Delete, the session may start again from Seq 1.
//
// Implementations must be safe for concurrent use: the tracker's flushers
// call Store concurrently, one call per shard at a time.
type Backend interface {
	Store(ctx context.Context, batch []Checkpoint, results []Result)
	Load(ctx context.Context, sessions []string) (map[string]Checkpoint, error)
	Delete(ctx context.Context, session string) error
}

// Outcome is what a backend did with one checkpoint of a Store batch.
type Outcome uint8

const (
	// OutcomeUnknown is the zero value: the backend did not report on the
	// item. The tracker treats it as a retryable failure.
	OutcomeUnknown Outcome = iota
	// OutcomeWritten: the checkpoint is now the stored one.
	OutcomeWritten
	// OutcomeStale: the backend already held an equal or higher Seq and kept
	// it. Not an error.
	OutcomeStale
	// OutcomeFailed: not written; Result.Err says why and whether to retry.
	OutcomeFailed
)

// String returns "written", "stale", "failed" or "unknown".
func (o Outcome) String() string {
	switch o {
	case OutcomeWritten:
		return "written"
	case OutcomeStale:
		return "stale"
	case OutcomeFailed:
		return "failed"
	default:
		return "unknown"
	}
}

// Result is a backend's report on one checkpoint of a Store batch.
type Result struct {
	Outcome Outcome
	// Err is set when Outcome is OutcomeFailed.
	Err error
}

// ErrNoOutcome is the error the tracker records for a result the backend
// left unfilled.
var ErrNoOutcome = errors.New("lastevent: backend reported no outcome")

// Stored reports whether the checkpoint is durable: written now, or
// superseded by an equal or newer stored checkpoint.
func (r Result) Stored() bool {
	return r.Outcome == OutcomeWritten || r.Outcome == OutcomeStale
}

// Error returns the failure of a result that is not Stored, or nil. A result
// the backend left unfilled yields an error wrapping ErrNoOutcome and
// ErrRetryable.
func (r Result) Error() error {
	switch {
	case r.Stored():
		return nil
	case r.Outcome == OutcomeFailed && r.Err != nil:
		return r.Err
	case r.Outcome == OutcomeFailed:
		return errors.Join(ErrRetryable, errors.New("lastevent: backend reported failure without an error"))
	default:
		return errors.Join(ErrRetryable, ErrNoOutcome, r.Err) // Join skips a nil Err
	}
}
