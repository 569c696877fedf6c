package fault

import (
	"errors"
	"fmt"
)

// Sentinels of injected failures. Every failure a Backend injects wraps
// ErrInjected and exactly one of core.ErrRetryable or core.ErrPermanent;
// a failure of a particular kind wraps that kind's sentinel too (each of
// which wraps ErrInjected), so a test can tell them apart with errors.Is. A
// failure caused by the caller's context ending is not injected: it wraps
// core.ErrRetryable and ctx.Err() only, as the core.Backend contract says.
var (
	// ErrInjected marks every failure the fault Backend made up. On its
	// own (no kind below) it is an ErrorRate, LoadErrorRate or
	// DeleteErrorRate failure.
	ErrInjected = errors.New("fault: injected failure")
	// ErrThrottled marks the items of a throttled Store call. Retryable.
	ErrThrottled = fmt.Errorf("%w: throttled", ErrInjected)
	// ErrOutage marks every call refused during an outage. Retryable.
	ErrOutage = fmt.Errorf("%w: outage", ErrInjected)
	// ErrUnprocessed marks the items a partial batch left unprocessed.
	// Retryable.
	ErrUnprocessed = fmt.Errorf("%w: unprocessed item of a partial batch", ErrInjected)
	// ErrReplyLost marks an item the next backend stored whose success was
	// reported as a failure anyway. Retryable.
	ErrReplyLost = fmt.Errorf("%w: write applied, reply lost", ErrInjected)
)

// Checker sentinels.
var (
	// ErrRegression: a stored checkpoint moved backwards. Checker.Err and
	// Checker.Verify wrap it.
	ErrRegression = errors.New("fault: checkpoint regression")
	// ErrLost: the backend does not hold the expected checkpoint of some
	// session (it is missing, older, newer or different). Checker.Verify
	// wraps it.
	ErrLost = errors.New("fault: checkpoint lost")
)
