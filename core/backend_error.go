package core

import "fmt"

// BackendError is the failure of one backend operation on behalf of one
// checkpoint (Store), or of a whole Load or Delete: the shape every backend
// of this module reports, and one a backend of your own may use. It wraps
// exactly one of ErrRetryable and ErrPermanent, and the cause, so
// errors.Is(err, ErrPermanent), errors.Is(err, context.Canceled) and
// errors.As with the store client's own error types all see through it.
type BackendError struct {
	// Backend names the store in the message: "dynamodb", "redis", ...
	Backend string
	// Op is the store's operation or command ("UpdateItem", "EVALSHA", ...).
	Op string
	// Session and Seq identify the checkpoint; Seq is 0 for Load and Delete,
	// and Session may be empty for a Load of several sessions.
	Session string
	Seq     uint64
	// Code is the store's error code, or one of the backend's own.
	Code string
	// Retryable reports the class: true wraps ErrRetryable, false
	// ErrPermanent.
	Retryable bool
	// Err is the cause, as the store's client returned it.
	Err error
}

// Error names the backend, operation, checkpoint, class and code, then the
// cause.
func (e *BackendError) Error() string {
	class := "permanent"
	if e.Retryable {
		class = "retryable"
	}
	switch {
	case e.Session == "" && e.Seq == 0:
		return fmt.Sprintf("lastevent/%s: %s: %s %s: %v", e.Backend, e.Op, class, e.Code, e.Err)
	case e.Seq == 0:
		return fmt.Sprintf("lastevent/%s: %s session %q: %s %s: %v", e.Backend, e.Op, e.Session, class, e.Code, e.Err)
	default:
		return fmt.Sprintf("lastevent/%s: %s session %q seq %d: %s %s: %v", e.Backend, e.Op, e.Session, e.Seq, class, e.Code, e.Err)
	}
}

// Unwrap returns the failure class (ErrRetryable or ErrPermanent) and the
// cause.
func (e *BackendError) Unwrap() []error {
	class := ErrPermanent
	if e.Retryable {
		class = ErrRetryable
	}
	return []error{class, e.Err}
}
