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
// memory: Reload (Resume) seeds the window with the stored one, the last k
// IDs persisted, or only the newest ID when persisting the window is off;
// Forget (a plain Observe after eviction) keeps none; neither changes the
// Seq.
func TestSessionReloadAndForget(t *testing.T) {
	var s Session
	for _, id := range []string{"a", "b", "c"} {
		s.Observe(id, 4)
	}
	s.Persist(2)
	c := s.Clone()
	c.Reload(4)
	if !slices.Equal(c.Window, []string{"b", "c"}) || c.Seq() != 3 {
		t.Errorf("after Persist(2), Reload: window %v seq %d, want [b c] 3", c.Window, c.Seq())
	}
	if c.Observe("b", 4) || c.Observe("c", 4) || !c.Observe("a", 4) {
		t.Error("after Reload: want b and c duplicates and a accepted")
	}
	off := s.Clone()
	off.Persist(0)
	off.Reload(4)
	if !slices.Equal(off.Window, []string{"c"}) {
		t.Errorf("after Persist(0), Reload: window %v, want [c]", off.Window)
	}
	small := s.Clone()
	small.Reload(1)
	if !slices.Equal(small.Window, []string{"c"}) {
		t.Errorf("Reload into a window of 1: window %v, want [c]", small.Window)
	}
	s.Forget()
	if !s.Observe("c", 4) || s.Seq() != 4 {
		t.Errorf("after Forget: Observe(c) must be accepted as Seq 4, got seq %d", s.Seq())
	}
	if zero := (Session{}); zero.Last() != "" || zero.Seq() != 0 {
		t.Error("zero Session: want no events")
	}
	if len(c.History) != 4 || len(s.History) != 4 || c.History[3] != "a" || s.History[3] != "c" {
		t.Errorf("Clone shares history: %v vs %v", c.History, s.History)
	}
}

// TestSessionAdopt pins the merge of an entry's own window with the stored
// one: stored IDs below, each ID once, the newest w kept, idempotent.
func TestSessionAdopt(t *testing.T) {
	s := Session{Stored: []string{"a", "b", "c"}, Window: []string{"c", "x"}}
	if !s.MayAdopt("a", 4) || s.MayAdopt("x", 4) || s.MayAdopt("z", 4) {
		t.Errorf("MayAdopt a, x, z: want true, false, false")
	}
	if s.MayAdopt("a", 3) {
		t.Errorf("MayAdopt(a) with a window of 3: a would not fit, want false")
	}
	s.Adopt(4)
	if want := []string{"a", "b", "c", "x"}; !slices.Equal(s.Window, want) {
		t.Fatalf("Adopt(4): window %v, want %v", s.Window, want)
	}
	s.Adopt(4)
	if want := []string{"a", "b", "c", "x"}; !slices.Equal(s.Window, want) {
		t.Fatalf("Adopt twice: window %v, want %v", s.Window, want)
	}
	s = Session{Stored: []string{"a", "b", "c"}, Window: []string{"x", "y"}}
	s.Adopt(3)
	if want := []string{"c", "x", "y"}; !slices.Equal(s.Window, want) {
		t.Fatalf("Adopt(3): window %v, want %v", s.Window, want)
	}
}

// TestStoredIDs: a stored window maps back to the IDs it names, and one
// naming an ID never accepted, or out of order, is refused.
func TestStoredIDs(t *testing.T) {
	history := []string{"a", "b", "c", "a", "d"}
	ids, err := StoredIDs(WindowOf([]string{"b", "c", "a", "d"}), history, 5)
	if err != nil || !slices.Equal(ids, []string{"b", "c", "a", "d"}) {
		t.Fatalf("StoredIDs: got (%v, %v), want [b c a d]", ids, err)
	}
	if ids, err := StoredIDs("", history, 3); err != nil || !slices.Equal(ids, []string{"c"}) {
		t.Fatalf("StoredIDs of an empty window: got (%v, %v), want [c]", ids, err)
	}
	for _, bad := range [][]string{{"z", "d"}, {"d", "a"}, {"c", "b", "d"}} {
		if _, err := StoredIDs(WindowOf(bad), history, 5); err == nil {
			t.Errorf("StoredIDs(%v): got nil, want an error", bad)
		}
	}
	if _, err := StoredIDs(WindowOf([]string{"b", "c"}), history, 3); err != nil {
		t.Errorf("StoredIDs of an older checkpoint: %v", err)
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
