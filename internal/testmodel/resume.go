package testmodel

import (
	"context"
	"errors"
	"time"

	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/shard"
)

// Resume calls tr.Resume(ctx, session) and, when retryBreaker is true, calls
// it again every interval while it fails with shard.ErrBreakerOpen: the
// caller's side of the breaker contract (the breaker opens after failed
// calls and lets a probe through Config.BreakerResetTimeout later). Pass
// retryBreaker false while the backend is known to fail Loads, where the
// refusal is the answer under test. It returns the last answer when ctx
// ends.
func Resume(ctx context.Context, tr *shard.Tracker, session string, interval time.Duration, retryBreaker bool) (core.Checkpoint, error) {
	var cp core.Checkpoint
	err := whileBreakerOpen(ctx, interval, retryBreaker, func() (err error) {
		cp, err = tr.Resume(ctx, session)
		return err
	})
	return cp, err
}

// Delete calls tr.Delete(ctx, session) with the same breaker contract as
// Resume: when retryBreaker is true it calls it again every interval while
// it fails with shard.ErrBreakerOpen. Pass retryBreaker false while the
// backend may fail Deletes, where the refusal is the answer under test.
func Delete(ctx context.Context, tr *shard.Tracker, session string, interval time.Duration, retryBreaker bool) error {
	return whileBreakerOpen(ctx, interval, retryBreaker, func() error { return tr.Delete(ctx, session) })
}

// whileBreakerOpen runs call, and when retry is true runs it again every
// interval while it fails with shard.ErrBreakerOpen, until ctx ends. It
// returns call's last error.
func whileBreakerOpen(ctx context.Context, interval time.Duration, retry bool, call func() error) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		err := call()
		if !retry || !errors.Is(err, shard.ErrBreakerOpen) {
			return err
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return err
		}
	}
}
