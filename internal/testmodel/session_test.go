package testmodel

import (
	"slices"
	"testing"
)

// TestSessionWindowEdge pins the specification the suites compare the
// Tracker with: the ID exactly W back is a duplicate, W+1 back is not, and
// Seq counts accepted IDs only.
func TestSessionWindowEdge(t *testing.T) {
	const w = 3
	var s Session
	for _, id := range []string{"a", "b", "c", "d"} {
		if !s.Observe(id, w) {
			t.Fatalf("Observe(%s) of a fresh ID: duplicate", id)
		}
	}
	if s.Observe("b", w) {
		t.Error("Observe(b), exactly W back: accepted, want duplicate")
	}
	if !s.Observe("a", w) {
		t.Error("Observe(a), W+1 back: duplicate, want accepted")
	}
	if got, want := s.Window, []string{"c", "d", "a"}; !slices.Equal(got, want) {
		t.Errorf("Window: got %v, want %v", got, want)
	}
	if s.Seq() != 5 || s.Last() != "a" {
		t.Errorf("Seq, Last: got %d, %q, want 5, \"a\"", s.Seq(), s.Last())
	}
}

// TestSessionReloadAndForget pins what a session knows after leaving
// memory: Reload (Resume) keeps only the newest ID in the window, Forget
// (a plain Observe after eviction) keeps none; neither changes the Seq.
func TestSessionReloadAndForget(t *testing.T) {
	var s Session
	s.Observe("a", 4)
	s.Observe("b", 4)
	c := s.Clone()
	c.Reload()
	if !slices.Equal(c.Window, []string{"b"}) || c.Seq() != 2 {
		t.Errorf("after Reload: window %v seq %d, want [b] 2", c.Window, c.Seq())
	}
	if c.Observe("b", 4) || !c.Observe("a", 4) {
		t.Error("after Reload: want b a duplicate and a accepted")
	}
	s.Forget()
	if !s.Observe("b", 4) || s.Seq() != 3 {
		t.Errorf("after Forget: Observe(b) must be accepted as Seq 3, got seq %d", s.Seq())
	}
	if zero := (Session{}); zero.Last() != "" || zero.Seq() != 0 {
		t.Error("zero Session: want no events")
	}
	if len(c.History) != 3 || len(s.History) != 3 || c.History[2] != "a" || s.History[2] != "b" {
		t.Errorf("Clone shares history: %v vs %v", c.History, s.History)
	}
}

// TestSessionReset pins what a deleted session knows: nothing, so a replay
// of its last ID is accepted as Seq 1.
func TestSessionReset(t *testing.T) {
	var s Session
	s.Observe("a", 2)
	s.Observe("b", 2)
	s.Reset()
	if s.Seq() != 0 || s.Last() != "" || len(s.Window) != 0 {
		t.Fatalf("after Reset: seq %d last %q window %v, want nothing", s.Seq(), s.Last(), s.Window)
	}
	if !s.Observe("b", 2) || s.Seq() != 1 {
		t.Errorf("Observe(b) after Reset: want accepted as Seq 1, got seq %d", s.Seq())
	}
}
