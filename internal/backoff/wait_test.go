package backoff

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestWait(t *testing.T) {
	if err := Wait(context.Background(), time.Millisecond, nil); err != nil {
		t.Fatalf("Wait that runs its course: got %v, want nil", err)
	}
	if err := Wait(context.Background(), 0, nil); err != nil {
		t.Fatalf("Wait(0): got %v, want nil", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Wait(ctx, time.Hour, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with an ended ctx: got %v, want context.Canceled", err)
	}
	stop := make(chan struct{})
	close(stop)
	if err := Wait(context.Background(), time.Hour, stop); !errors.Is(err, ErrStopped) {
		t.Fatalf("Wait with stop closed: got %v, want ErrStopped", err)
	}
}
