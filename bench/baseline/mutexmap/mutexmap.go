package mutexmap

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/lastevent/lastevent/core"
)

// ErrClosed is returned by Observe after Close began.
var ErrClosed = errors.New("mutexmap: checkpointer closed")

// Checkpointer is the mutex-map pattern: see the package documentation for
// what it does wrong. It is safe for concurrent use, must be created with
// New, must not be copied, and must be released with Close, which stops its
// goroutine. The backend is the caller's.
type Checkpointer struct {
	backend core.Backend

	mu          sync.Mutex // guards everything below, including the writes
	checkpoints map[string]entry
	closed      bool

	stop chan struct{}
	done chan struct{}
	once sync.Once
	err  error // the final save's error, set once by Close
}

// entry is one session's newest ID and how many IDs it has observed.
type entry struct {
	eventID string
	seq     uint64
}

// New starts a Checkpointer that writes every entry through backend every
// interval (a minute if interval <= 0, kinesis-consumer's default).
func New(backend core.Backend, interval time.Duration) *Checkpointer {
	if interval <= 0 {
		interval = time.Minute
	}
	c := &Checkpointer{
		backend:     backend,
		checkpoints: make(map[string]entry),
		stop:        make(chan struct{}),
		done:        make(chan struct{}),
	}
	go c.loop(interval)
	return c
}

// Observe records eventID as session's newest ID. It always reports
// accepted: the pattern has no deduplication. After Close it returns
// ErrClosed.
func (c *Checkpointer) Observe(session, eventID string) (accepted bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false, ErrClosed
	}
	e := c.checkpoints[session]
	c.checkpoints[session] = entry{eventID: eventID, seq: e.seq + 1}
	return true, nil
}

// LastEventID returns session's newest ID and false if it has none.
func (c *Checkpointer) LastEventID(session string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.checkpoints[session]
	return e.eventID, ok
}

// Sessions returns the number of sessions held.
func (c *Checkpointer) Sessions() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.checkpoints)
}

func (c *Checkpointer) loop(interval time.Duration) {
	defer close(c.done)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			_ = c.save(context.Background()) // dropped, as the pattern does
		case <-c.stop:
			return
		}
	}
}

// save writes every entry, one Store call each, holding the mutex
// throughout. It stops at the first failed entry and returns its error.
func (c *Checkpointer) save(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var batch [1]core.Checkpoint
	var res [1]core.Result
	for session, e := range c.checkpoints {
		batch[0] = core.Checkpoint{Session: session, EventID: e.eventID, Seq: e.seq}
		res[0] = core.Result{}
		c.backend.Store(ctx, batch[:], res[:])
		if err := res[0].Error(); err != nil {
			return err
		}
	}
	return nil
}

// Close stops accepting events, stops the ticker goroutine, writes every
// entry once more under ctx and returns that write's error. Later calls
// return the same error.
func (c *Checkpointer) Close(ctx context.Context) error {
	c.once.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		close(c.stop)
		<-c.done
		c.err = c.save(ctx)
	})
	return c.err
}
