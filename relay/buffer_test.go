package relay

import (
	"fmt"
	"testing"
)

func mk(id string) Event {
	if id == "" {
		return Event{Data: "no id"}
	}
	return Event{ID: id, Data: "data " + id}
}

func TestBufferLocateAndEvict(t *testing.T) {
	b := newBuffer(3, Position{})
	if at, ok, _ := b.locate(Position{}); !ok || at != 0 {
		t.Fatalf("stream start on a fresh buffer: got %d, %v; want 0, true", at, ok)
	}
	for i := 1; i <= 5; i++ {
		b.append(mk(fmt.Sprint(i)))
	}
	if n := b.len(); n != 3 {
		t.Fatalf("len after 5 appends to a buffer of 3: got %d, want 3", n)
	}
	// The buffer holds 3, 4, 5 and stands after 2.
	for _, tc := range []struct {
		p    Position
		at   uint64
		want bool
	}{
		{Position{}, 0, false}, // the start was evicted
		{At("1"), 0, false},
		{At("2"), 2, true}, // the base: continue with 3
		{At("3"), 3, true},
		{At("5"), 5, true}, // the newest: wait for the next
		{At("x"), 0, false},
	} {
		at, ok, _ := b.locate(tc.p)
		if ok != tc.want || (ok && at != tc.at) {
			t.Errorf("locate(%+v): got %d, %v; want %d, %v", tc.p, at, ok, tc.at, tc.want)
		}
	}
	evs, next, _, ok := b.read(2, make([]Event, 0, 2))
	if !ok || len(evs) != 2 || evs[0].ID != "3" || next != 4 {
		t.Fatalf("read(2) with room for 2: got %v, next %d, ok %v; want [3 4], next 4, ok true", evs, next, ok)
	}
	if _, _, _, ok := b.read(1, make([]Event, 0, 2)); ok {
		t.Fatal("read of an evicted position: got ok true, want false (the reader fell behind)")
	}
}

func TestBufferWakesReaders(t *testing.T) {
	b := newBuffer(4, At("c"))
	_, _, wake, _ := b.read(0, make([]Event, 0, 1))
	select {
	case <-wake:
		t.Fatal("woken before any append")
	default:
	}
	b.append(mk("d"))
	select {
	case <-wake:
	default:
		t.Fatal("append did not wake the waiting reader")
	}
	if at, ok, _ := b.locate(At("c")); !ok || at != 0 {
		t.Fatalf("the checkpoint a restarted relay resumed from: got %d, %v; want 0, true", at, ok)
	}
}

// After the buffer evicts an event without an ID, no position stands just
// before it: a client there must catch up (and get that event) rather than
// silently skip it.
func TestBufferEvictedEventWithoutID(t *testing.T) {
	b := newBuffer(2, Position{})
	b.append(mk("1"))
	b.append(mk(""))
	b.append(mk("3"))
	b.append(mk("4")) // evicts the event without an ID
	if _, ok, _ := b.locate(At("1")); ok {
		t.Fatal("position 1 located although the event after it was evicted")
	}
	if at, ok, _ := b.locate(At("3")); !ok || at != 3 {
		t.Fatalf("locate(3): got %d, %v; want 3, true", at, ok)
	}
}

// Appends that no reader waits for allocate nothing beyond the caller's
// event: the wake channel is replaced only when a reader took it.
func TestBufferAppendAllocatesNothing(t *testing.T) {
	b := newBuffer(8, Position{})
	evs := make([]Event, 64)
	for i := range evs {
		evs[i] = mk(fmt.Sprint(i))
	}
	for _, e := range evs[:8] { // fill the index to its steady size
		b.append(e)
	}
	i := 8
	if n := testing.AllocsPerRun(50, func() { b.append(evs[i%len(evs)]); i++ }); n != 0 {
		t.Fatalf("append with no waiting reader: %v allocations, want 0", n)
	}
}
