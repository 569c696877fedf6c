package relay

import (
	"fmt"
	"testing"
)

func mk(id string) Event {
	if id == "" {
		return Event{Data: []byte("no id")}
	}
	return Event{ID: []byte(id), Data: []byte("data " + id)}
}

func at(id string) Position { return Position{ID: id, Set: true} }

func TestHubLocateAndEvict(t *testing.T) {
	h := newHub(3, Position{})
	if pos, ok, _ := h.locate(Position{}); !ok || pos != 0 {
		t.Fatalf("stream start on a fresh hub: got %d, %v; want 0, true", pos, ok)
	}
	for i := 1; i <= 5; i++ {
		h.append(mk(fmt.Sprint(i)))
	}
	// The hub holds 3, 4, 5 and stands after 2.
	for _, tc := range []struct {
		p    Position
		pos  uint64
		want bool
	}{
		{Position{}, 0, false}, // the start was evicted
		{at("1"), 0, false},
		{at("2"), 2, true}, // the base: continue with 3
		{at("3"), 3, true},
		{at("5"), 5, true}, // the newest: wait for the next
		{at("x"), 0, false},
	} {
		pos, ok, _ := h.locate(tc.p)
		if ok != tc.want || (ok && pos != tc.pos) {
			t.Errorf("locate(%+v): got %d, %v; want %d, %v", tc.p, pos, ok, tc.pos, tc.want)
		}
	}
	evs, next, _, ok := h.read(2, make([]Event, 0, 2))
	if !ok || len(evs) != 2 || string(evs[0].ID) != "3" || next != 4 {
		t.Fatalf("read(2) with room for 2: got %d events, next %d, ok %v", len(evs), next, ok)
	}
	if _, _, _, ok := h.read(1, make([]Event, 0, 2)); ok {
		t.Fatal("read of an evicted position succeeded; want ok false (fell behind)")
	}
}

func TestHubWakesReaders(t *testing.T) {
	h := newHub(4, at("c"))
	_, _, wake, _ := h.read(0, make([]Event, 0, 1))
	select {
	case <-wake:
		t.Fatal("woken before any append")
	default:
	}
	h.append(mk("d"))
	select {
	case <-wake:
	default:
		t.Fatal("append did not wake the reader")
	}
	if pos, ok, _ := h.locate(at("c")); !ok || pos != 0 {
		t.Fatalf("the checkpoint a restarted relay resumed from: got %d, %v; want 0, true", pos, ok)
	}
}

// After the hub evicts an event without an ID, no position stands just
// before the hub: a client there must catch up (and get that event) rather
// than silently skip it.
func TestHubEvictedEventWithoutID(t *testing.T) {
	h := newHub(2, Position{})
	h.append(mk("1"))
	h.append(mk(""))
	h.append(mk("3"))
	h.append(mk("4")) // evicts the event without an ID
	if _, ok, _ := h.locate(at("1")); ok {
		t.Fatal("position 1 located although the event after it was evicted")
	}
	if pos, ok, _ := h.locate(at("3")); !ok || pos != 3 {
		t.Fatalf("locate(3): got %d, %v; want 3, true", pos, ok)
	}
}
