package shard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/sony/gobreaker/v2"

	"github.com/lastevent/lastevent/core"
)

// breaker is one shard's circuit breaker around its backend calls (Store
// from the flusher, Load from the flusher and Resume). It is gobreaker's
// two-step breaker: the state machine (closed, open after a threshold of
// consecutive failures, half-open with a single probe after a timeout) is
// well-tested code we need not repeat, and the two-step form lets one Store
// call report an outcome computed from its per-item results. A nil breaker
// (Config.BreakerThreshold < 0) lets every call through.
type breaker struct {
	cb *gobreaker.TwoStepCircuitBreaker[struct{}]
}

// errCallFailed is what a failed Store or Load reports to the breaker.
var errCallFailed = errors.New("backend call failed")

// newBreaker makes shard's breaker; onChange runs on every transition with
// whether the breaker now refuses calls (open) or has closed after a probe.
func newBreaker(shard int, cfg *Config, onChange func(open, closed bool)) breaker {
	if cfg.BreakerThreshold < 0 {
		return breaker{}
	}
	threshold := uint32(cfg.BreakerThreshold)
	return breaker{cb: gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        "shard-" + strconv.Itoa(shard),
		MaxRequests: 1, // one probe when half-open
		Timeout:     cfg.BreakerResetTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= threshold },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			onChange(to == gobreaker.StateOpen, to == gobreaker.StateClosed)
			level := slog.LevelInfo
			if to == gobreaker.StateOpen {
				level = slog.LevelWarn
			}
			cfg.Logger.Log(context.Background(), level, "lastevent: circuit breaker "+to.String(),
				"shard", shard, "from", from.String())
			if cfg.OnBreakerChange != nil {
				cfg.OnBreakerChange(BreakerChange{Shard: shard, From: from.String(), To: to.String()})
			}
		},
	})}
}

// allow asks whether a backend call may go out now. It returns a function
// to report whether the call succeeded, or an error wrapping ErrBreakerOpen.
func (b breaker) allow() (done func(ok bool), err error) {
	if b.cb == nil {
		return func(bool) {}, nil
	}
	report, err := b.cb.Allow()
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrBreakerOpen, err)
	}
	return func(ok bool) {
		if ok {
			report(nil)
		} else {
			report(errCallFailed)
		}
	}, nil
}

// open reports whether the breaker refuses calls now.
func (b breaker) open() bool {
	return b.cb != nil && b.cb.State() == gobreaker.StateOpen
}

// storeFailed decides how a Store call counts for the breaker: as a failure
// when nothing was stored and some item failed retryably — the backend is
// down, throttling or timing out. Items refused permanently (a bad item, a
// missing table) mean the backend answered, so they do not trip it.
func storeFailed(results []core.Result) bool {
	retryable := false
	for _, r := range results {
		if r.Stored() {
			return false
		}
		if core.IsRetryable(r.Error()) {
			retryable = true
		}
	}
	return retryable
}
