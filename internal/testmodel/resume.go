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
	retry := time.NewTicker(interval)
	defer retry.Stop()
	for {
		cp, err := tr.Resume(ctx, session)
		if !retryBreaker || !errors.Is(err, shard.ErrBreakerOpen) {
			return cp, err
		}
		select {
		case <-retry.C:
		case <-ctx.Done():
			return cp, err
		}
	}
}
