package main

import (
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lastevent/lastevent/sse"
)

// chaos draws the upstream's misbehaviour from one seeded source.
type chaos struct {
	mu      sync.Mutex
	rng     *rand.Rand
	drop    float64
	overlap int
}

func newChaos(seed uint64, drop float64, overlap int) *chaos {
	return &chaos{rng: rand.New(rand.NewPCG(seed, 0x5eed)), drop: drop, overlap: overlap}
}

// dropNow reports whether to drop the connection now, and whether in the
// middle of an event (else cleanly, between events).
func (c *chaos) dropNow() (drop, midEvent bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.drop == 0 || c.rng.Float64() >= c.drop {
		return false, false
	}
	return true, c.rng.IntN(2) == 0
}

// overlapLen draws how many already-delivered events to resend.
func (c *chaos) overlapLen() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rng.IntN(c.overlap + 1)
}

// server serves the log as an event stream.
type server struct {
	log       *eventLog
	chaos     *chaos
	retry     time.Duration
	heartbeat time.Duration
	logger    *slog.Logger
	conns     atomic.Uint64
}

func (s *server) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	conn := s.conns.Add(1)
	next := 1
	if id, ok := sse.LastEventID(r); ok && id != "" {
		n, known := s.log.position(id)
		if !known {
			s.logger.Warn("upstream: unknown Last-Event-ID", "conn", conn, "last_event_id", id)
			http.Error(rw, "unknown Last-Event-ID", http.StatusBadRequest)
			return
		}
		k := s.chaos.overlapLen()
		next = max(1, n+1-k)
		s.logger.Info("upstream: resume", "conn", conn, "last_event_id", id, "after_event", n, "overlap", n+1-next)
	} else {
		s.logger.Info("upstream: connect", "conn", conn)
	}
	w, err := sse.Upgrade(rw)
	if err != nil {
		return
	}
	if s.retry > 0 {
		if w.WriteRetry(s.retry) != nil {
			return
		}
	}
	hb := time.NewTicker(s.heartbeat)
	defer hb.Stop()
	for {
		events, wake := s.log.from(next)
		for _, e := range events {
			if drop, mid := s.chaos.dropNow(); drop {
				s.logger.Info("upstream: drop", "conn", conn, "before_event", next, "mid_event", mid)
				if mid {
					// Half an event, then an abrupt close: the client must
					// discard the incomplete event.
					_, _ = rw.Write([]byte("id: " + e.id + "\ndata: half of "))
					_ = http.NewResponseController(rw).Flush()
					panic(http.ErrAbortHandler)
				}
				return
			}
			if w.WriteEvent(sse.Event{ID: []byte(e.id), Data: []byte(e.data)}) != nil {
				return
			}
			next++
		}
		select {
		case <-wake:
		case <-hb.C:
			if w.WriteComment("heartbeat") != nil {
				return
			}
		case <-r.Context().Done():
			return
		}
	}
}
