package shard_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/shard"
)

func TestObserveRejectsBadInput(t *testing.T) {
	b := memory.New()
	tr := startTracker(t, b, hourly(2))
	const good = "good"
	observe(t, tr, good, "1")
	flush(t, tr)
	sessions, writes := tr.Sessions(), b.Stats().Writes

	long := strings.Repeat("s", core.MaxSessionBytes+1)
	cases := []struct {
		name, session, id string
		want              error
	}{
		{"empty session", "", "2", core.ErrEmptySession},
		{"session one byte too long", long, "2", core.ErrSessionTooLong},
		{"session invalid UTF-8", "bad\xffsession", "2", core.ErrInvalidSession},
		{"session truncated UTF-8", "caf\xc3", "2", core.ErrInvalidSession},
		{"session with NUL", "a\x00b", "2", core.ErrInvalidSession},
		{"empty event ID", good, "", core.ErrEmptyEventID},
		{"empty event ID on new session", "new", "", core.ErrEmptyEventID},
		{"event ID with NUL", good, "2\x00", core.ErrInvalidEventID},
		{"event ID with CR", good, "2\r", core.ErrInvalidEventID},
		{"event ID with LF", good, "\n2", core.ErrInvalidEventID},
		{"event ID with CR LF after UTF-8", good, "é2\r\n", core.ErrInvalidEventID},
		{"event ID invalid UTF-8", good, "2\xff", core.ErrInvalidEventID},
		{"event ID with NUL on new session", "new", "\x00", core.ErrInvalidEventID},
		{"event ID one byte too long", good, strings.Repeat("x", core.DefaultMaxEventIDBytes+1), core.ErrEventIDTooLong},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ok, err := tr.Observe(c.session, c.id)
			if !errors.Is(err, c.want) {
				t.Fatalf("Observe: got error %v, want one wrapping %v", err, c.want)
			}
			if ok {
				t.Fatal("Observe of bad input: got accepted=true")
			}
			if got := tr.Sessions(); got != sessions {
				t.Fatalf("Sessions after bad input: got %d, want %d", got, sessions)
			}
			if cp, _ := tr.Checkpoint(good); cp.Seq != 1 || cp.EventID != "1" {
				t.Fatalf("checkpoint of %q after bad input: got %+v, want seq 1 ID 1", good, cp)
			}
		})
	}
	flush(t, tr)
	if got := b.Stats().Writes; got != writes {
		t.Fatalf("backend writes after bad input and Flush: got %d, want %d", got, writes)
	}
}

func TestResumeRejectsBadSession(t *testing.T) {
	b := memory.New()
	tr := startTracker(t, b, hourly(2))
	cases := []struct {
		name, session string
		want          error
	}{
		{"empty", "", core.ErrEmptySession},
		{"one byte too long", strings.Repeat("s", core.MaxSessionBytes+1), core.ErrSessionTooLong},
		{"invalid UTF-8", "\xfe", core.ErrInvalidSession},
		{"NUL", "\x00", core.ErrInvalidSession},
	}
	for _, c := range cases {
		cp, err := tr.Resume(context.Background(), c.session)
		if !errors.Is(err, c.want) {
			t.Errorf("Resume(%s): got error %v, want one wrapping %v", c.name, err, c.want)
		}
		if !cp.IsZero() {
			t.Errorf("Resume(%s): got checkpoint %+v, want zero", c.name, cp)
		}
	}
	if got := tr.Sessions(); got != 0 {
		t.Fatalf("Sessions after bad Resumes: got %d, want 0", got)
	}
	if got := b.Stats().Loads; got != 0 {
		t.Fatalf("backend loads for bad sessions: got %d, want 0", got)
	}
}

func TestInputLimitsAccepted(t *testing.T) {
	b := memory.New()
	tr := startTracker(t, b, hourly(2))
	accept := []struct{ name, session, id string }{
		{"session at limit", strings.Repeat("s", core.MaxSessionBytes), "1"},
		{"multi-byte session at limit", strings.Repeat("é", core.MaxSessionBytes/2), "1"},
		{"event ID at default limit", "ids", strings.Repeat("x", core.DefaultMaxEventIDBytes)},
		{"non-ASCII event ID", "ids", "événement-😀"},
		{"event ID with spaces and tabs", "ids", "a b\tc"},
	}
	for _, c := range accept {
		ok, err := tr.Observe(c.session, c.id)
		if err != nil || !ok {
			t.Fatalf("Observe(%s): got (%v, %v), want (true, nil)", c.name, ok, err)
		}
		if id, _ := tr.LastEventID(c.session); id != c.id {
			t.Fatalf("LastEventID(%s): got %q, want %q", c.name, id, c.id)
		}
	}
	flush(t, tr)
	for _, c := range accept {
		want, _ := tr.Checkpoint(c.session)
		if got, _ := storedOf(t, b, c.session); got != want {
			t.Errorf("stored (%s): got %+v, want %+v", c.name, got, want)
		}
	}
}

func TestConfiguredMaxEventIDBytes(t *testing.T) {
	const limit = 16
	b := memory.New()
	tr := startTracker(t, b, shard.Config{MaxEventIDBytes: limit, FlushInterval: time.Hour})
	if ok, err := tr.Observe("s", strings.Repeat("x", limit)); err != nil || !ok {
		t.Fatalf("Observe of a %d-byte ID with limit %d: got (%v, %v), want (true, nil)", limit, limit, ok, err)
	}
	for _, n := range []int{limit + 1, core.DefaultMaxEventIDBytes} {
		if _, err := tr.Observe("s", strings.Repeat("y", n)); !errors.Is(err, core.ErrEventIDTooLong) {
			t.Fatalf("Observe of a %d-byte ID with limit %d: got %v, want ErrEventIDTooLong", n, limit, err)
		}
	}
	if _, err := tr.Observe("other", strings.Repeat("y", limit+1)); !errors.Is(err, core.ErrEventIDTooLong) {
		t.Fatalf("Observe on a new session of a too-long ID: got %v, want ErrEventIDTooLong", err)
	}
	if got := tr.Sessions(); got != 1 {
		t.Fatalf("Sessions: got %d, want 1", got)
	}
	if cp, _ := tr.Checkpoint("s"); cp.Seq != 1 {
		t.Fatalf("seq after rejected IDs: got %d, want 1", cp.Seq)
	}
	flush(t, tr)
	if got := b.Stats().Writes; got != 1 {
		t.Fatalf("backend writes: got %d, want 1", got)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	cases := []struct {
		name  string
		cfg   shard.Config
		field string
	}{
		{"Shards 3", shard.Config{Shards: 3}, "Shards"},
		{"Shards -1", shard.Config{Shards: -1}, "Shards"},
		{"Shards above max", shard.Config{Shards: 2 * shard.MaxShards}, "Shards"},
		{"Window 100", shard.Config{Window: 100}, "Window"},
		{"Window -1", shard.Config{Window: -1}, "Window"},
		{"Window above max", shard.Config{Window: 2 * core.MaxWindow}, "Window"},
		{"FlushInterval -1", shard.Config{FlushInterval: -1}, "FlushInterval"},
		{"FlushInterval below 1ms", shard.Config{FlushInterval: time.Microsecond}, "FlushInterval"},
		{"MaxBatch -5", shard.Config{MaxBatch: -5}, "MaxBatch"},
		{"MaxEventIDBytes -1", shard.Config{MaxEventIDBytes: -1}, "MaxEventIDBytes"},
		{"StoreTimeout -1", shard.Config{StoreTimeout: -1}, "StoreTimeout"},
	}
	for _, c := range cases {
		c.cfg.Logger = discardLogger()
		tr, err := shard.New(memory.New(), c.cfg)
		if err == nil {
			_ = tr.Close(context.Background())
			t.Errorf("New(%s): got nil error, want one naming %s", c.name, c.field)
			continue
		}
		if tr != nil {
			t.Errorf("New(%s): got a Tracker with error %v, want nil", c.name, err)
		}
		if !strings.Contains(err.Error(), c.field) {
			t.Errorf("New(%s): got error %q, want it to name %s", c.name, err, c.field)
		}
	}
}

func TestNewAcceptsConfigLimits(t *testing.T) {
	cfgs := []shard.Config{
		{Shards: 1, Window: 1, FlushInterval: time.Millisecond, MaxBatch: 1, MaxEventIDBytes: 1},
		{Shards: shard.MaxShards, Window: core.MaxWindow, FlushInterval: time.Hour},
	}
	for _, cfg := range cfgs {
		tr := startTracker(t, memory.New(), cfg)
		if got := tr.Shards(); got != cfg.Shards {
			t.Errorf("Shards: got %d, want %d", got, cfg.Shards)
		}
		if err := tr.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
}

func TestNewRejectsNilBackend(t *testing.T) {
	tr, err := shard.New(nil, shard.Config{Logger: discardLogger()})
	if err == nil || tr != nil {
		t.Fatalf("New(nil backend): got (%v, %v), want (nil, error)", tr, err)
	}
}
