package taskperevent

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/lastevent/lastevent/core"
)

// DefaultWindow is the number of IDs the design keeps per session: 1000,
// about 20 KB per session with 20-character IDs.
const DefaultWindow = 1000

// ErrClosed is returned by Observe after Close began.
var ErrClosed = errors.New("taskperevent: tracker closed")

// Tracker is the task-per-event design: see the package documentation for
// what it does wrong. It is safe for concurrent use, must be created with New, must
// not be copied, and must be released with Close, which waits for the
// goroutines Observe started. The backend is the caller's.
type Tracker struct {
	backend core.Backend
	window  int
	closed  atomic.Bool
	writes  sync.WaitGroup // one per in-flight per-event goroutine

	mu       sync.RWMutex // guards sessions
	sessions map[string]*session
}

// session is one session's state: a deduplication list and the newest ID,
// each behind its own lock.
type session struct {
	seenMu sync.RWMutex
	seen   []string // oldest first, at most window long

	lastMu sync.RWMutex
	lastID string
	seq    uint64 // accepted events; the checkpoint's Seq
}

// New returns a Tracker that keeps window IDs per session (DefaultWindow
// if window < 1) and writes through backend.
func New(backend core.Backend, window int) *Tracker {
	if window < 1 {
		window = DefaultWindow
	}
	return &Tracker{backend: backend, window: window, sessions: make(map[string]*session)}
}

// Observe reports whether eventID is new for session and, if so, records it
// as the session's newest ID and starts one goroutine that stores the
// checkpoint and drops the result. After Close it returns ErrClosed.
func (t *Tracker) Observe(sessionID, eventID string) (accepted bool, err error) {
	s, err := t.session(sessionID)
	if err != nil {
		return false, err
	}
	// is_duplicate: a linear scan under the read lock.
	s.seenMu.RLock()
	for _, id := range s.seen {
		if id == eventID {
			s.seenMu.RUnlock()
			return false, nil
		}
	}
	s.seenMu.RUnlock()

	// record_event: append under the write lock, a separate critical section.
	s.seenMu.Lock()
	s.seen = append(s.seen, eventID)
	if len(s.seen) > t.window {
		s.seen = s.seen[1:]
	}
	s.seenMu.Unlock()

	// The second lock: the newest ID. The closed check and the goroutine
	// start happen under it, so Close, which takes every session's lastMu
	// once after setting closed, knows no Add can follow its Wait.
	s.lastMu.Lock()
	if t.closed.Load() {
		s.lastMu.Unlock()
		return false, ErrClosed
	}
	s.seq++
	s.lastID = eventID
	cp := core.Checkpoint{Session: sessionID, EventID: eventID, Seq: s.seq}
	t.writes.Add(1)
	go t.store(cp) // one goroutine per accepted event
	s.lastMu.Unlock()
	return true, nil
}

// store is the per-event goroutine: one Store of one checkpoint, result
// dropped.
func (t *Tracker) store(cp core.Checkpoint) {
	defer t.writes.Done()
	var res [1]core.Result
	t.backend.Store(context.Background(), []core.Checkpoint{cp}, res[:])
}

// session returns sessionID's state, creating it under the map's write lock
// if it does not exist.
func (t *Tracker) session(sessionID string) (*session, error) {
	t.mu.RLock()
	s, ok := t.sessions[sessionID]
	t.mu.RUnlock()
	if ok {
		return s, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed.Load() {
		return nil, ErrClosed
	}
	if s, ok = t.sessions[sessionID]; !ok {
		s = &session{}
		t.sessions[sessionID] = s
	}
	return s, nil
}

// LastEventID returns the newest accepted ID of session and false if none.
func (t *Tracker) LastEventID(sessionID string) (string, bool) {
	t.mu.RLock()
	s, ok := t.sessions[sessionID]
	t.mu.RUnlock()
	if !ok {
		return "", false
	}
	s.lastMu.RLock()
	defer s.lastMu.RUnlock()
	return s.lastID, s.seq > 0
}

// Sessions returns the number of sessions held.
func (t *Tracker) Sessions() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.sessions)
}

// Seed gives session the state that observing ids in order, all distinct
// and new, would leave (the last window of them kept, Seq len(ids)), without
// starting goroutines or writing. It is benchmark setup, not part of the
// design: filling 1k windows of 4096 through Observe scans
// O(window²) strings and takes minutes. It returns ErrClosed after Close.
func (t *Tracker) Seed(sessionID string, ids []string) error {
	s, err := t.session(sessionID)
	if err != nil || len(ids) == 0 {
		return err
	}
	keep := ids[max(0, len(ids)-t.window):]
	s.seenMu.Lock()
	s.seen = append(s.seen[:0], keep...)
	s.seenMu.Unlock()
	s.lastMu.Lock()
	s.seq += uint64(len(ids))
	s.lastID = ids[len(ids)-1]
	s.lastMu.Unlock()
	return nil
}

// Drain waits until every per-event goroutine started so far has
// returned. It is for tests that must bound how many goroutines are alive
// (the race detector allows 8128), not part of the design. It must
// not run concurrently with Observe or Close.
func (t *Tracker) Drain() { t.writes.Wait() }

// Close stops accepting events and waits until every per-event goroutine
// has returned, or until ctx ends (then it returns ctx's error; the
// goroutines still finish on their own, since their Store calls are not
// cancellable in this design). Later calls wait again and return nil
// once the goroutines are done.
func (t *Tracker) Close(ctx context.Context) error {
	t.closed.Store(true)
	// Taking every session's lastMu once after closed is set means every
	// Observe that will ever call writes.Add has done so.
	t.mu.RLock()
	for _, s := range t.sessions {
		s.lastMu.Lock()
		s.lastMu.Unlock() //nolint:staticcheck // an empty critical section is the point
	}
	t.mu.RUnlock()
	done := make(chan struct{})
	go func() {
		t.writes.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
