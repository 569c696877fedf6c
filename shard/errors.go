package shard

import (
	"errors"
	"fmt"

	"github.com/lastevent/lastevent/core"
)

var (
	// ErrClosed is returned by every Tracker method called after Close began.
	ErrClosed = errors.New("lastevent: tracker closed")
	// ErrUnflushed is returned by Flush and Close when their context ended
	// before every accepted checkpoint was stored; the error says how many
	// sessions are still waiting and the backend's last error.
	ErrUnflushed = errors.New("lastevent: checkpoints not yet stored")
	// ErrTooManySessions is returned by Observe and Resume for a session not
	// in memory when Config.MaxSessions sessions are, and none could be
	// evicted yet because their checkpoints are not stored. Sessions already
	// in memory keep working; the flushers evict as soon as writes succeed.
	ErrTooManySessions = errors.New("lastevent: too many sessions in memory")
	// ErrBreakerOpen is the cause recorded for a write or load that was not
	// attempted because the shard's circuit breaker is open. It wraps
	// core.ErrRetryable: the session stays dirty and is written after the
	// breaker closes.
	ErrBreakerOpen = fmt.Errorf("lastevent: circuit breaker open: %w", core.ErrRetryable)
)
