package backoff

import (
	"context"
	"errors"
	"time"
)

// ErrStopped is what Wait returns when its stop channel closed first.
var ErrStopped = errors.New("backoff: stopped")

// Wait blocks for d, or until ctx ends (it returns ctx.Err()) or stop is
// closed (it returns ErrStopped), whichever comes first; a nil stop never
// closes. It waits on a timer in a select, never time.Sleep, so nothing can
// leave it stuck, and returns nil at once when d is not positive.
func Wait(ctx context.Context, d time.Duration, stop <-chan struct{}) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-stop:
		return ErrStopped
	}
}
