package shard_test

import (
	"errors"
	"strconv"
	"testing"

	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/core"
)

// TestObserveBytesMatchesObserve: the same IDs give the same answers and
// checkpoints whether they arrive as strings or bytes, and the tracker
// keeps no view of the caller's buffer: overwriting it after an accepted
// ID changes nothing the tracker reports.
func TestObserveBytesMatchesObserve(t *testing.T) {
	b := memory.New()
	tr := startTracker(t, b, hourly(2))
	buf := make([]byte, 0, 16)
	for i, id := range []string{"1", "2", "2", "3", "1", "4", "3"} {
		wantOK := observe(t, tr, "strings", id)
		buf = append(buf[:0], id...)
		gotOK, err := tr.ObserveBytes("bytes", buf)
		if err != nil || gotOK != wantOK {
			t.Fatalf("event %d: ObserveBytes(%q): got (%t, %v), want (%t, nil) as Observe", i, id, gotOK, err, wantOK)
		}
		copy(buf, "XXXXXXXX"[:len(buf)]) // the caller reuses its buffer
		want, _ := tr.Checkpoint("strings")
		got, _ := tr.Checkpoint("bytes")
		if got.EventID != want.EventID || got.Seq != want.Seq {
			t.Fatalf("event %d: Checkpoint after ObserveBytes: got %+v, want ID %q seq %d", i, got, want.EventID, want.Seq)
		}
	}
	flush(t, tr)
	if got, _ := storedOf(t, b, "bytes"); got.EventID != "4" || got.Seq != 4 {
		t.Fatalf("stored after ObserveBytes and a reused buffer: got %+v, want ID 4 seq 4", got)
	}
}

func TestObserveBytesRejectsBadInput(t *testing.T) {
	tr := startTracker(t, memory.New(), hourly(1))
	for _, tc := range []struct {
		session string
		id      []byte
		want    error
	}{
		{"s", nil, core.ErrEmptyEventID},
		{"s", []byte{}, core.ErrEmptyEventID},
		{"s", []byte("a\nb"), core.ErrInvalidEventID},
		{"s", []byte{0xff}, core.ErrInvalidEventID},
		{"s", make([]byte, core.DefaultMaxEventIDBytes+1), core.ErrEventIDTooLong},
		{"", []byte("x"), core.ErrEmptySession},
	} {
		if ok, err := tr.ObserveBytes(tc.session, tc.id); ok || !errors.Is(err, tc.want) {
			t.Errorf("ObserveBytes(%q, %q): got (%t, %v), want (false, %v)", tc.session, tc.id, ok, err, tc.want)
		}
	}
	if n := tr.Sessions(); n != 0 {
		t.Fatalf("sessions after rejected input: got %d, want 0", n)
	}
}

// TestObserveBytesAllocs pins the cost contract: a duplicate allocates
// nothing, an accepted ID one copy of itself beside Observe's record.
func TestObserveBytesAllocs(t *testing.T) {
	tr := startTracker(t, memory.New(), hourly(1))
	ids := make([][]byte, 1000)
	for i := range ids {
		ids[i] = []byte(strconv.Itoa(1_000_000 + i))
	}
	for _, id := range ids[:128] { // fill the window: no ring growth below
		if _, err := tr.ObserveBytes("s", id); err != nil {
			t.Fatal(err)
		}
	}
	dup := ids[127]
	if got := testing.AllocsPerRun(200, func() { _, _ = tr.ObserveBytes("s", dup) }); got != 0 {
		t.Errorf("allocs per duplicate ObserveBytes: got %v, want 0", got)
	}
	next := 128
	if got := testing.AllocsPerRun(200, func() { _, _ = tr.ObserveBytes("s", ids[next]); next++ }); got != 2 {
		t.Errorf("allocs per accepted ObserveBytes: got %v, want 2 (the record and the kept ID)", got)
	}
	strs := make([]string, 300)
	for i := range strs {
		strs[i] = "str-" + strconv.Itoa(i)
	}
	n := 0
	if got := testing.AllocsPerRun(200, func() { _, _ = tr.Observe("s", strs[n]); n++ }); got != 1 {
		t.Errorf("allocs per accepted Observe: got %v, want 1 (the record)", got)
	}
}
