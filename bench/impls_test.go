package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/lastevent/lastevent/bench/baseline/mutexmap"
	"github.com/lastevent/lastevent/bench/baseline/taskperevent"
	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/shard"
)

// observer is what the comparative benchmarks and tests drive: lastevent's
// Tracker, the two baselines, or the floor. Every implementation pays the
// same interface call per event.
type observer interface {
	Observe(session, eventID string) (accepted bool, err error)
	Close(ctx context.Context) error
}

// impl is one implementation under comparison.
type impl struct {
	name string
	// dedups is false for an implementation that accepts every ID
	// (mutexmap, floor): its case=dup results are not checked.
	dedups bool
	// start builds it on backend with a dedup window and a flush interval
	// (implementations without one ignore it). sessions are the sessions
	// the benchmark will use; only the floor needs them up front.
	start func(backend core.Backend, window int, flush time.Duration, sessions []string) (observer, error)
}

var (
	implLastevent = impl{"lastevent", true, func(be core.Backend, w int, flush time.Duration, _ []string) (observer, error) {
		return shard.New(be, shard.Config{Window: w, FlushInterval: flush, Logger: discardLogger})
	}}
	implTaskPerEvent = impl{"taskperevent", true, func(be core.Backend, w int, _ time.Duration, _ []string) (observer, error) {
		return taskperevent.New(be, w), nil
	}}
	implMutexmap = impl{"mutexmap", false, func(be core.Backend, _ int, flush time.Duration, _ []string) (observer, error) {
		return mutexmap.New(be, flush), nil
	}}
	implFloor = impl{"floor", false, func(_ core.Backend, _ int, _ time.Duration, sessions []string) (observer, error) {
		return floorObserver{newFloor(sessions)}, nil
	}}

	// compared are the implementations of the side-by-side benchmarks and
	// tests; the floor joins where a least-possible cost is useful.
	compared = []impl{implLastevent, implTaskPerEvent, implMutexmap}
)

var discardLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// floorObserver gives the floor the observer interface: it accepts every ID
// of a session it was built with.
type floorObserver struct{ f *floor }

func (o floorObserver) Observe(session, eventID string) (bool, error) {
	if !o.f.observe(session, eventID) {
		return false, fmt.Errorf("floor: session %q missing", session)
	}
	return true, nil
}

func (o floorObserver) Close(context.Context) error {
	sink += o.f.checksum()
	return nil
}

// seeder is implemented by taskperevent.Tracker: it fills a window without
// O(window²) string scans or a goroutine per warm-up event.
type seeder interface {
	Seed(session string, ids []string) error
}

// drainer is implemented by taskperevent.Tracker: it waits for the per-event
// goroutines started so far, which keeps the live count under the race
// detector's limit in long serial drives.
type drainer interface{ Drain() }
