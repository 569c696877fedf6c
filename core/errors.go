package core

import "errors"

// Input errors. Observe and Resume return one of these (wrapped with the
// offending length or byte offset) and change nothing.
var (
	// ErrEmptySession: the session name is empty.
	ErrEmptySession = errors.New("lastevent: empty session")
	// ErrSessionTooLong: the session name is longer than MaxSessionBytes.
	ErrSessionTooLong = errors.New("lastevent: session too long")
	// ErrInvalidSession: the session name is not valid UTF-8 or contains NUL.
	ErrInvalidSession = errors.New("lastevent: invalid session")
	// ErrEmptyEventID: the event ID is empty. An SSE "id:" field with no
	// value resets the last event ID; it is not an event to track.
	ErrEmptyEventID = errors.New("lastevent: empty event ID")
	// ErrEventIDTooLong: the event ID is longer than the configured limit.
	ErrEventIDTooLong = errors.New("lastevent: event ID too long")
	// ErrInvalidEventID: the event ID contains NUL, CR or LF (it cannot
	// travel in an SSE id field) or is not valid UTF-8.
	ErrInvalidEventID = errors.New("lastevent: invalid event ID")
)

// Backend failure classes. A backend wraps every failed item's error with
// exactly one of them, so the tracker knows whether trying again can help:
//
//	fmt.Errorf("%w: session %q seq %d: %w", core.ErrRetryable, cp.Session, cp.Seq, err)
//
// An error wrapping neither is treated as retryable: the tracker never drops a
// checkpoint because a backend forgot to classify a failure.
var (
	// ErrRetryable marks a failure that may succeed later (throttling,
	// timeouts, network errors, 5xx).
	ErrRetryable = errors.New("lastevent: retryable backend failure")
	// ErrPermanent marks a failure that the same request will hit again
	// (validation, missing table, access denied, item too large).
	ErrPermanent = errors.New("lastevent: permanent backend failure")
)

// IsRetryable reports whether a failed store may succeed if tried again:
// every error except one that wraps ErrPermanent.
func IsRetryable(err error) bool {
	return err != nil && !errors.Is(err, ErrPermanent)
}
