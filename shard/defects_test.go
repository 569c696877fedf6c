package shard_test

import (
	"context"
	"errors"
	"testing"

	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/shard"
)

// panickyDelete is a backend whose Delete panics.
type panickyDelete struct{ *memory.Backend }

func (panickyDelete) Delete(context.Context, string) error { panic("panickyDelete: injected panic") }

// TestDeletePanicContained: a backend whose Delete panics costs the caller
// an error wrapping core.ErrPermanent, as Store and Load panics do, and the
// tracker keeps working: the panic must not kill the flusher (and with it
// the process).
func TestDeletePanicContained(t *testing.T) {
	b := panickyDelete{memory.New()}
	tr := startTracker(t, b, hourly(1))
	observe(t, tr, "s", "1")
	err := tr.Delete(context.Background(), "s")
	if !errors.Is(err, core.ErrPermanent) {
		t.Fatalf("Delete on a backend whose Delete panics: got %v, want an error wrapping core.ErrPermanent", err)
	}
	observe(t, tr, "t", "1")
	flush(t, tr)
	if got, ok := storedOf(t, b, "t"); !ok || got.Seq != 1 {
		t.Fatalf("stored t after the contained panic: got (%+v, %t), want seq 1: the flusher must survive", got, ok)
	}
}

// TestDirtySessionsCountsFailingSessionOnce: a session whose writes fail and
// that keeps receiving events is one dirty session, not one per queue it
// sits in.
func TestDirtySessionsCountsFailingSessionOnce(t *testing.T) {
	fb := newFaultyBackend()
	fb.fail.Store(true)
	tr := startTracker(t, fb, hourly(1))
	observe(t, tr, "s", "1")
	_ = flushShort(tr) // fails: s now waits for a retry
	observe(t, tr, "s", "2")
	if got := tr.Stats().DirtySessions; got != 1 {
		t.Fatalf("DirtySessions with one failing session observed again: got %d, want 1", got)
	}
	observe(t, tr, "s", "2") // a duplicate is no unstored checkpoint
	observe(t, tr, "u", "1")
	if got := tr.Stats().DirtySessions; got != 2 {
		t.Fatalf("DirtySessions after a new session: got %d, want 2", got)
	}
	fb.fail.Store(false)
	flush(t, tr)
	if got := tr.Stats().DirtySessions; got != 0 {
		t.Fatalf("DirtySessions after a successful Flush: got %d, want 0", got)
	}
}

// TestDirtySessionsIgnoresDuplicates: duplicates of a clean session leave
// nothing to store, so they do not count as dirty.
func TestDirtySessionsIgnoresDuplicates(t *testing.T) {
	tr := startTracker(t, memory.New(), hourly(1))
	observe(t, tr, "s", "1")
	flush(t, tr)
	observe(t, tr, "s", "1")
	if got := tr.Stats().DirtySessions; got != 0 {
		t.Fatalf("DirtySessions after a duplicate of a stored event: got %d, want 0", got)
	}
}

// TestResumeChecksRoomBeforeLoading: with MaxSessions taken by sessions
// that cannot be evicted (their writes fail), Resume of a new session
// returns ErrTooManySessions without a backend read.
func TestResumeChecksRoomBeforeLoading(t *testing.T) {
	fb := newFaultyBackend()
	fb.fail.Store(true)
	cfg := hourly(1)
	cfg.MaxSessions = 1
	tr := startTracker(t, fb, cfg)
	observe(t, tr, "s", "1")
	loads := fb.Stats().Loads
	_, err := tr.Resume(context.Background(), "new")
	if !errors.Is(err, shard.ErrTooManySessions) {
		t.Fatalf("Resume of a new session at MaxSessions: got %v, want ErrTooManySessions", err)
	}
	if got := fb.Stats().Loads; got != loads {
		t.Fatalf("backend loads for a Resume refused for room: got %d more, want 0", got-loads)
	}
	// Even with the backend down: the documented answer, not the backend's.
	fb.failLoad.Store(true)
	if _, err := tr.Resume(context.Background(), "new"); !errors.Is(err, shard.ErrTooManySessions) {
		t.Fatalf("Resume at MaxSessions during an outage: got %v, want ErrTooManySessions", err)
	}
	fb.fail.Store(false) // let Close store s
	fb.failLoad.Store(false)
}

// TestNewRefusesTypedNilBackend: a nil pointer in the Backend interface is
// no backend; New says so instead of the first Resume reporting a
// recovered nil-pointer panic.
func TestNewRefusesTypedNilBackend(t *testing.T) {
	for _, b := range []core.Backend{nil, (*memory.Backend)(nil)} {
		tr, err := shard.New(b, shard.Config{})
		if err == nil || tr != nil {
			if tr != nil {
				_ = tr.Close(context.Background())
			}
			t.Fatalf("New(%T(nil)): got (tracker %t, %v), want (nil, an error)", b, tr != nil, err)
		}
	}
}
