package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sync"
	"time"
)

// event is one event of the log.
type event struct {
	id   string
	data string
}

// eventLog is the upstream's history: events are appended at a fixed rate
// and kept, so that any position can be replayed.
type eventLog struct {
	seed uint64

	mu     sync.Mutex
	events []event        // events[n-1] is event n
	byID   map[string]int // ID -> n
	wake   chan struct{}  // closed and replaced by every append
}

func newEventLog(seed uint64) *eventLog {
	return &eventLog{seed: seed, byID: map[string]int{}, wake: make(chan struct{})}
}

// idOf is event n's ID: opaque, unordered, stable for a seed.
func idOf(seed uint64, n int) string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], seed)
	binary.LittleEndian.PutUint64(b[8:], uint64(n))
	sum := sha256.Sum256(b[:])
	return hex.EncodeToString(sum[:6])
}

// dataOf is event n's data; every 7th event has two lines.
func dataOf(n int) string {
	if n%7 == 0 {
		return fmt.Sprintf("event %d\nsecond line of event %d", n, n)
	}
	return fmt.Sprintf("event %d", n)
}

// generate appends an event every interval until ctx ends or count events
// exist (count 0: no limit).
func (l *eventLog) generate(ctx context.Context, interval time.Duration, count int) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for n := 1; count == 0 || n <= count; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		l.mu.Lock()
		e := event{id: idOf(l.seed, n), data: dataOf(n)}
		l.events = append(l.events, e)
		l.byID[e.id] = n
		close(l.wake)
		l.wake = make(chan struct{})
		l.mu.Unlock()
	}
}

// position returns the number of the event with id, and false for an ID
// the log never had.
func (l *eventLog) position(id string) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, ok := l.byID[id]
	return n, ok
}

// from returns the events numbered n and after, and a channel closed by
// the next append.
func (l *eventLog) from(n int) ([]event, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n > len(l.events) {
		return nil, l.wake
	}
	return l.events[n-1:], l.wake // appends never modify existing elements
}
