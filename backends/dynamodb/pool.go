package dynamodb

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/internal/backoff"
)

// callKind says what a call's jobs do.
type callKind uint8

const (
	kindUpdate     callKind = iota // one UpdateItem per job
	kindBatchWrite                 // one BatchWriteItem group per job
	kindBatchGet                   // one BatchGetItem group per job
)

// call is one Store or Load split into jobs for the workers. Jobs of one
// call write disjoint elements of results, so only Load's merge needs mu.
type call struct {
	ctx  context.Context
	kind callKind
	now  time.Time
	wg   sync.WaitGroup // one count per job handed to a worker

	// Store
	batch   []core.Checkpoint
	results []core.Result
	order   []int // indexes of batch to write, in job order

	// Load
	keys  []string
	mu    sync.Mutex
	found map[string]core.Checkpoint
	err   error // the first failure of the Load
}

// job is a slice [lo, hi) of a call's order (Store) or keys (Load).
type job struct {
	c      *call
	lo, hi int
}

// work is a worker goroutine: it runs jobs until Close.
func (b *Backend) work() {
	defer b.workers.Done()
	for {
		select {
		case j := <-b.jobs:
			b.run(j)
		case <-b.stop:
			return
		}
	}
}

func (b *Backend) run(j job) {
	defer j.c.wg.Done()
	switch j.c.kind {
	case kindUpdate:
		for _, i := range j.c.order[j.lo:j.hi] {
			b.update(j.c, i)
		}
	case kindBatchWrite:
		b.batchWrite(j.c, j.c.order[j.lo:j.hi])
	case kindBatchGet:
		b.batchGet(j.c, j.c.keys[j.lo:j.hi])
	}
}

// dispatch hands the jobs [0, n) in groups of size to the workers and waits
// until every job handed over has finished. When ctx ends or Close is
// called first, it stops handing out jobs and returns the index from which
// no job was handed over, and why; otherwise it returns n, nil.
func (b *Backend) dispatch(c *call, n, size int) (int, error) {
	var stopped error
	lo := 0
	for ; lo < n; lo += size {
		c.wg.Add(1)
		select {
		case b.jobs <- job{c: c, lo: lo, hi: min(lo+size, n)}:
			continue
		case <-c.ctx.Done():
			stopped = c.ctx.Err()
		case <-b.stop:
			stopped = ErrClosed
		}
		c.wg.Done()
		break
	}
	c.wg.Wait()
	if stopped == nil {
		return n, nil
	}
	return lo, stopped
}

// wait sleeps before retry attempt (from 0) of unprocessed batch items:
// a random duration in [0, min(RetryMaxDelay, RetryBaseDelay<<attempt)),
// the "full jitter" that spreads retries of many writers apart. It returns
// early with ctx's error or ErrClosed.
func (b *Backend) wait(ctx context.Context, attempt int) error {
	err := backoff.Wait(ctx, backoff.FullJitter(b.cfg.RetryBaseDelay, b.cfg.RetryMaxDelay, attempt), b.stop)
	if errors.Is(err, backoff.ErrStopped) {
		return ErrClosed
	}
	return err
}
