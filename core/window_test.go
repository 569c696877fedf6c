package core

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cespare/xxhash/v2"
)

func hashesOf(es []event) []uint64 {
	hs := make([]uint64, len(es))
	for i, e := range es {
		hs[i] = e.hash
	}
	return hs
}

// windowOf is the Window a checkpoint of the events es (oldest first)
// persists.
func windowOf(es []event) Window { return EncodeWindow(hashesOf(es)) }

func TestWindowEncoding(t *testing.T) {
	hs := []uint64{1, 0xfedcba9876543210, 1 << 63}
	w := EncodeWindow(hs)
	if got, want := len(w), 8*len(hs); got != want {
		t.Fatalf("len(EncodeWindow(%d hashes)): got %d bytes, want %d", len(hs), got, want)
	}
	// The layout is part of the stored format: 8 bytes per hash,
	// little-endian, oldest first, no header.
	want := binary.LittleEndian.AppendUint64(nil, 1)
	want = binary.LittleEndian.AppendUint64(want, 0xfedcba9876543210)
	want = binary.LittleEndian.AppendUint64(want, 1<<63)
	if string(w) != string(want) {
		t.Fatalf("EncodeWindow: got % x, want % x", []byte(w), want)
	}
	if got, want := w.String(), "[0000000000000001 fedcba9876543210 8000000000000000]"; got != want {
		t.Fatalf("String: got %s, want %s", got, want)
	}
	if got, want := Window("").String(), "[]"; got != want {
		t.Fatalf("String of the empty window: got %s, want %s", got, want)
	}
	if got, want := Window("abc").String(), "[malformed window of 3 bytes]"; got != want {
		t.Fatalf("String of a torn window: got %s, want %s", got, want)
	}
	if got := w.Len(); got != len(hs) {
		t.Fatalf("Len: got %d, want %d", got, len(hs))
	}
	for i, h := range hs {
		if got := w.Hash(i); got != h {
			t.Fatalf("Hash(%d): got %#x, want %#x", i, got, h)
		}
	}
	if got := w.AppendHashes([]uint64{7}); !slices.Equal(got, append([]uint64{7}, hs...)) {
		t.Fatalf("AppendHashes: got %x, want 7 then %x", got, hs)
	}
	if got := EncodeWindow(nil); got != "" {
		t.Fatalf("EncodeWindow(nil): got %q, want the empty window", got)
	}
	b := []byte(w)
	parsed, err := ParseWindow(b)
	if err != nil || parsed != w {
		t.Fatalf("ParseWindow(EncodeWindow(x)): got (%v, %v), want (%v, nil)", parsed, err, w)
	}
	b[0] ^= 0xff // ParseWindow copied: the caller's buffer is its own
	if parsed != w {
		t.Fatalf("ParseWindow retained its argument: a write to it changed the Window")
	}
}

func TestParseWindowRejects(t *testing.T) {
	big := make([]uint64, MaxWindow+1)
	for i := range big {
		big[i] = uint64(i)
	}
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"1 byte", []byte{1}},
		{"7 bytes", make([]byte, 7)},
		{"9 bytes", make([]byte, 9)},
		{"a string", []byte("evt-42")},
		{"duplicate", []byte(EncodeWindow([]uint64{5, 6, 5}))},
		{"adjacent duplicate", []byte(EncodeWindow([]uint64{9, 9}))},
		{"over MaxWindow", []byte(EncodeWindow(big))},
	} {
		w, err := ParseWindow(tc.b)
		if !errors.Is(err, ErrInvalidWindow) || w != "" {
			t.Errorf("ParseWindow(%s): got (%d bytes, %v), want (empty, ErrInvalidWindow)", tc.name, len(w), err)
		}
	}
	for _, n := range []int{0, 1, 2, MaxWindow} {
		if _, err := ParseWindow([]byte(EncodeWindow(big[:n]))); err != nil {
			t.Errorf("ParseWindow of %d distinct hashes: got %v, want nil", n, err)
		}
	}
}

func TestCheckpointCheckWindow(t *testing.T) {
	es := ids("c", 3)
	good := Checkpoint{Session: "s", EventID: es[2].id, Seq: 7, Window: windowOf(es)}
	if err := good.CheckWindow(); err != nil {
		t.Fatalf("CheckWindow of a slot's own checkpoint: got %v, want nil", err)
	}
	if err := (Checkpoint{Session: "s", EventID: "x", Seq: 1}).CheckWindow(); err != nil {
		t.Fatalf("CheckWindow without a window: got %v, want nil", err)
	}
	for _, tc := range []struct {
		name string
		cp   Checkpoint
	}{
		{"newest is not EventID", Checkpoint{Session: "s", EventID: es[1].id, Seq: 7, Window: good.Window}},
		{"more hashes than events", Checkpoint{Session: "s", EventID: es[2].id, Seq: 2, Window: good.Window}},
		{"seq 0", Checkpoint{Session: "s", EventID: es[2].id, Window: good.Window}},
		{"torn", Checkpoint{Session: "s", EventID: es[2].id, Seq: 7, Window: good.Window[:20]}},
		{"repeated", Checkpoint{Session: "s", EventID: es[2].id, Seq: 7, Window: windowOf([]event{es[2], es[0], es[2]})}},
	} {
		err := tc.cp.CheckWindow()
		if !errors.Is(err, ErrInvalidWindow) || !strings.Contains(fmt.Sprint(err), `"s"`) {
			t.Errorf("CheckWindow (%s): got %v, want ErrInvalidWindow naming the session", tc.name, err)
		}
	}
	if _, err := NewSlot(8, Checkpoint{EventID: "x", Seq: 3, Window: good.Window}); !errors.Is(err, ErrInvalidWindow) {
		t.Fatalf("NewSlot with a window that is not the checkpoint's: got %v, want ErrInvalidWindow", err)
	}
}

// TestSlotWindowLocked: the persisted window is the last k accepted IDs,
// oldest first, through every ring size and once the ring wraps.
func TestSlotWindowLocked(t *testing.T) {
	for _, w := range []int{1, 4, 8, 128} {
		s := mustSlot(t, w, "", 0)
		m := newIDModel(w)
		es := ids(fmt.Sprintf("w%d", w), 3*w+3)
		for i, e := range es {
			step(t, s, m, e, fmt.Sprintf("window %d event %d", w, i))
			if i%2 == 0 {
				// A duplicate changes nothing.
				step(t, s, m, es[i], fmt.Sprintf("window %d replay %d", w, i))
			}
			for _, k := range []int{0, 1, 3, DefaultPersistWindow, w, w + 5} {
				s.Lock()
				got := s.WindowLocked(k)
				s.Unlock()
				n := min(k, w, i+1)
				want := windowOf(es[i+1-n : i+1])
				if got != want {
					t.Fatalf("window %d after %d events: WindowLocked(%d): got %v, want %v", w, i+1, k, got, want)
				}
				if cp := (Checkpoint{EventID: e.id, Seq: uint64(i + 1), Window: got}); cp.CheckWindow() != nil {
					t.Fatalf("window %d after %d events: WindowLocked(%d) fails CheckWindow: %v", w, i+1, k, cp.CheckWindow())
				}
			}
		}
	}
}

// TestSlotResumeFromWindow is the restart a user relies on: a slot resumed
// from another slot's persisted checkpoint drops a replay of every one of
// its last K IDs, keeps Last-Event-ID, and persists the same window.
func TestSlotResumeFromWindow(t *testing.T) {
	const w, k = 128, DefaultPersistWindow
	a := mustSlot(t, w, "", 0)
	es := ids("r", 300)
	for _, e := range es {
		a.Observe(e.id, e.hash)
	}
	a.Lock()
	id, seq := a.Last()
	stored := Checkpoint{Session: "s", EventID: id, Seq: seq, Window: a.WindowLocked(k)}
	a.Unlock()

	b, err := NewSlot(w, stored)
	if err != nil {
		t.Fatalf("NewSlot from a persisted checkpoint: %v", err)
	}
	b.Lock()
	if got := b.WindowLocked(k); got != stored.Window {
		t.Fatalf("window of the resumed slot: got %v, want the stored %v", got, stored.Window)
	}
	b.Unlock()
	for i := len(es) - 1; i >= len(es)-k; i-- {
		if ok, got := b.Observe(es[i].id, es[i].hash); ok || got != seq {
			t.Fatalf("replay of %q (%d back) after resume: got (%t, %d), want (false, %d)", es[i].id, len(es)-i, ok, got, seq)
		}
		if last, _ := b.Last(); last != id {
			t.Fatalf("Last after a replay: got %q, want %q: Last-Event-ID moved back", last, id)
		}
	}
	// One further back was not persisted: it is new to the resumed slot.
	old := es[len(es)-k-1]
	if ok, got := b.Observe(old.id, old.hash); !ok || got != seq+1 {
		t.Fatalf("replay of %q, %d back, beyond the persisted window: got (%t, %d), want (true, %d)", old.id, k+1, ok, got, seq+1)
	}
}

// TestSlotAdoptWindowLargerThanSlot: a checkpoint persisted by a tracker with
// a larger window fills the smaller one with its newest hashes.
func TestSlotAdoptWindowLargerThanSlot(t *testing.T) {
	es := ids("big", 20)
	stored := Checkpoint{EventID: es[19].id, Seq: 20, Window: windowOf(es)}
	s := mustSlot(t, 8, "", 0)
	if got := s.Adopt(stored); got != 20 {
		t.Fatalf("Adopt: got seq %d, want 20", got)
	}
	s.Lock()
	got := s.WindowLocked(100)
	s.Unlock()
	if want := windowOf(es[12:]); got != want {
		t.Fatalf("window after Adopt: got %v, want the newest 8 stored %v", got, want)
	}
	if ok, _ := s.Observe(es[11].id, es[11].hash); !ok {
		t.Fatalf("replay of the 9th newest stored ID in a window of 8: got duplicate, want accepted")
	}
}

// TestSlotAdoptMergesWindows covers a slot that accepted events before its
// stored history arrived: its own IDs stay the newest, the stored ones go
// below them, and no ID of either part is accepted again.
func TestSlotAdoptMergesWindows(t *testing.T) {
	stored := ids("st", 10) // the stored history's last 10 IDs
	for _, tc := range []struct {
		name   string
		window int
		own    []event // accepted before Adopt, oldest first
		want   []event // the window afterwards, oldest first
	}{
		{"disjoint", 32, ids("own", 3), append(slices.Clone(stored), ids("own", 3)...)},
		{
			// The upstream replayed stored[8] and stored[9] before Resume:
			// accepted then (nothing knew better), each is kept once, as
			// the newer copy.
			"overlap", 32, []event{stored[8], stored[9], ev("n1")},
			append(slices.Clone(stored[:8]), stored[8], stored[9], ev("n1")),
		},
		{"overflow", 8, ids("own", 5), append(slices.Clone(stored[7:]), ids("own", 5)...)},
		{"own fill the window", 4, ids("own", 6), ids("own", 6)[2:]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustSlot(t, tc.window, "", 0)
			for _, e := range tc.own {
				s.Observe(e.id, e.hash)
			}
			cp := Checkpoint{EventID: stored[9].id, Seq: 50, Window: windowOf(stored)}
			want := 50 + uint64(len(tc.own))
			if got := s.Adopt(cp); got != want {
				t.Fatalf("Adopt: got seq %d, want %d", got, want)
			}
			s.Lock()
			got := s.WindowLocked(MaxWindow)
			s.Unlock()
			if got != windowOf(tc.want) {
				t.Fatalf("window after Adopt: got %v, want %v", got, windowOf(tc.want))
			}
			if last, _ := s.Last(); last != tc.own[len(tc.own)-1].id {
				t.Fatalf("Last after Adopt: got %q, want the newest own %q", last, tc.own[len(tc.own)-1].id)
			}
			for _, e := range tc.want {
				if ok, _ := s.Observe(e.id, e.hash); ok {
					t.Fatalf("replay of %q, in the merged window: got accepted, want duplicate", e.id)
				}
			}
			if got := s.Seq(); got != want {
				t.Fatalf("Seq after replays: got %d, want %d", got, want)
			}
		})
	}
}

// TestSlotAdoptWithoutStoredWindow: a checkpoint stored with persistence of
// the window off still makes its own ID a duplicate.
func TestSlotAdoptWithoutStoredWindow(t *testing.T) {
	s := mustSlot(t, 8, "", 0)
	s.Observe("a", xxhash.Sum64String("a"))
	s.Adopt(cp("stored", 4))
	if ok, _ := s.Observe("stored", xxhash.Sum64String("stored")); ok {
		t.Fatalf("replay of the stored ID after Adopt: got accepted, want duplicate")
	}
	if got, want := s.Seq(), uint64(5); got != want {
		t.Fatalf("Seq: got %d, want %d", got, want)
	}
}

func TestCheckWindowAllocs(t *testing.T) {
	es := ids("a", DefaultPersistWindow)
	cp := Checkpoint{Session: "s", EventID: es[len(es)-1].id, Seq: 100, Window: windowOf(es)}
	if got := testing.AllocsPerRun(100, func() { _ = cp.CheckWindow() }); got != 0 {
		t.Fatalf("allocs per CheckWindow of a default window: got %v, want 0", got)
	}
}

func TestSlotWindowLockedAllocs(t *testing.T) {
	s := mustSlot(t, 128, "", 0)
	for _, e := range ids("a", 200) {
		s.Observe(e.id, e.hash)
	}
	s.Lock()
	defer s.Unlock()
	for _, k := range []int{0, 1, DefaultPersistWindow} {
		want := 1.0
		if k == 0 {
			want = 0
		}
		if got := testing.AllocsPerRun(50, func() { s.WindowLocked(k) }); got != want {
			t.Errorf("allocs per WindowLocked(%d): got %v, want %v (the encoded bytes)", k, got, want)
		}
	}
}
