package fuzz

import (
	"context"
	"errors"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/shard"
)

// knownSession is in memory before each input's Observe, so both paths of
// Observe are fuzzed: a new session (name validated) and a known one (the
// event ID's bytes checked only when it is not a duplicate).
const knownSession = "known"

// inputOracle predicts, independently of package core, the sentinel that
// Observe(session, id) returns, or nil. Observe checks the ID's length, then
// a new session's name, then the ID's bytes.
func inputOracle(session, id string, sessionKnown bool) error {
	switch {
	case id == "":
		return core.ErrEmptyEventID
	case len(id) > core.DefaultMaxEventIDBytes:
		return core.ErrEventIDTooLong
	}
	if !sessionKnown {
		if err := sessionOracle(session); err != nil {
			return err
		}
	}
	if !utf8.ValidString(id) || containsAny(id, "\x00\r\n") {
		return core.ErrInvalidEventID
	}
	return nil
}

// sessionOracle predicts what Resume (and Observe of a new session) says
// about a session name.
func sessionOracle(session string) error {
	switch {
	case session == "":
		return core.ErrEmptySession
	case len(session) > core.MaxSessionBytes:
		return core.ErrSessionTooLong
	case !utf8.ValidString(session) || containsAny(session, "\x00"):
		return core.ErrInvalidSession
	}
	return nil
}

func containsAny(s, bytes string) bool {
	for i := 0; i < len(s); i++ {
		for j := 0; j < len(bytes); j++ {
			if s[i] == bytes[j] {
				return true
			}
		}
	}
	return false
}

// FuzzValidate sends arbitrary bytes as session and event ID through
// Observe (for a new and for a known session) and Resume. Each call must be
// accepted exactly when the oracle says the input is valid, fail with the
// sentinel it predicts otherwise, never panic, and change nothing when it
// fails: no session created, no Last-Event-ID moved.
func FuzzValidate(f *testing.F) {
	for _, in := range [][2]string{
		{"s", "1"}, {"", "x"}, {"s", ""}, {"s", "a\nb"}, {"s", "a\rb"}, {"s\x00", "x"},
		{"s", "\xff"}, {"\xc3", "x"}, {"s", "é"}, {"会话", "事件-1"},
	} {
		f.Add(in[0], in[1])
	}
	f.Fuzz(func(t *testing.T, session, id string) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		tr, err := shard.New(memory.New(), shard.Config{Shards: 1, FlushInterval: time.Hour, Logger: quietLogger()})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		defer func() {
			if err := tr.Close(ctx); err != nil {
				t.Errorf("Close: %v", err)
			}
		}()
		if ok, err := tr.Observe(knownSession, "seed"); !ok || err != nil {
			t.Fatalf("Observe(%q, seed): got (%t, %v), want (true, nil)", knownSession, ok, err)
		}
		if session != knownSession {
			observeValidated(t, tr, session, id, false)
		}
		observeValidated(t, tr, knownSession, id, true)

		before := tr.Sessions()
		cp, err := tr.Resume(ctx, session)
		switch want := sessionOracle(session); {
		case want == nil && err != nil:
			t.Fatalf("Resume(%q): got %v, want nil", session, err)
		case want != nil && !errors.Is(err, want):
			t.Fatalf("Resume(%q): got (%+v, %v), want an error wrapping %v", session, cp, err, want)
		case want != nil && tr.Sessions() != before:
			t.Fatalf("Resume(%q) failed with %v but Sessions went from %d to %d", session, err, before, tr.Sessions())
		}
	})
}

// observeValidated checks one Observe of a fresh (never accepted) id.
func observeValidated(t *testing.T, tr *shard.Tracker, session, id string, known bool) {
	t.Helper()
	sessions := tr.Sessions()
	lastBefore, hadLast := tr.LastEventID(session)
	accepted, err := tr.Observe(session, id)
	want := inputOracle(session, id, known)
	if known && id == "seed" {
		want = nil // a duplicate of the seed: no byte check, not accepted
	}
	switch {
	case want == nil && err != nil:
		t.Fatalf("Observe(%q, %q): got %v, want nil", session, id, err)
	case want != nil && (accepted || !errors.Is(err, want)):
		t.Fatalf("Observe(%q, %q): got (%t, %v), want (false, an error wrapping %v)", session, id, accepted, err, want)
	case want != nil:
		last, hasLast := tr.LastEventID(session)
		if got := tr.Sessions(); got != sessions || last != lastBefore || hasLast != hadLast {
			t.Fatalf("Observe(%q, %q) failed with %v but changed the tracker: Sessions %d → %d, LastEventID (%q, %t) → (%q, %t)",
				session, id, err, sessions, got, lastBefore, hadLast, last, hasLast)
		}
	case known && id == "seed":
		if accepted {
			t.Fatalf("Observe(%q, seed) again: got accepted, want duplicate", session)
		}
	default:
		if !accepted {
			t.Fatalf("Observe(%q, %q) of a new ID: got duplicate, want accepted", session, id)
		}
		if last, ok := tr.LastEventID(session); !ok || last != id {
			t.Fatalf("LastEventID(%q) after accepting %q: got (%q, %t)", session, id, last, ok)
		}
		if again, err := tr.Observe(session, id); again || err != nil {
			t.Fatalf("replay Observe(%q, %q): got (%t, %v), want (false, nil)", session, id, again, err)
		}
	}
}
