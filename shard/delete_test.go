package shard_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lastevent/lastevent/backends/fault"
	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/shard"
)

func TestDeleteForgetsSession(t *testing.T) {
	ctx := context.Background()
	b := memory.New()
	tr := startTracker(t, b, hourly(2))
	observe(t, tr, "gone", "1")
	observe(t, tr, "gone", "2")
	observe(t, tr, "kept", "1")
	flush(t, tr)
	observe(t, tr, "gone", "3") // dirty when deleted: must never be written

	if err := tr.Delete(ctx, "gone"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, ok := storedOf(t, b, "gone"); ok {
		t.Fatal("stored checkpoint after Delete: present, want deleted")
	}
	if _, ok := tr.LastEventID("gone"); ok || tr.Sessions() != 1 {
		t.Fatalf("after Delete: in memory %v, sessions %d; want absent and 1", ok, tr.Sessions())
	}
	flush(t, tr)
	if _, ok := storedOf(t, b, "gone"); ok {
		t.Fatal("stored checkpoint after Delete and Flush: the dropped checkpoint was written")
	}
	// The session starts again at Seq 1; "1" is not a duplicate any more.
	if !observe(t, tr, "gone", "1") {
		t.Fatal("Observe after Delete: a former ID was reported a duplicate")
	}
	flush(t, tr)
	if got, _ := storedOf(t, b, "gone"); got != (core.Checkpoint{Session: "gone", EventID: "1", Seq: 1}) {
		t.Fatalf("stored after a new start: got %+v, want seq 1 ID 1", got)
	}
	if got, _ := storedOf(t, b, "kept"); got.Seq != 1 {
		t.Fatalf("another session after Delete: got %+v, want seq 1", got)
	}
	if err := tr.Delete(ctx, "never-seen"); err != nil {
		t.Fatalf("Delete of an unknown session: %v", err)
	}
	if err := tr.Delete(ctx, ""); !errors.Is(err, core.ErrEmptySession) {
		t.Fatalf("Delete with an empty session: got %v, want ErrEmptySession", err)
	}
	if err := tr.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tr.Delete(ctx, "kept"); !errors.Is(err, shard.ErrClosed) {
		t.Fatalf("Delete after Close: got %v, want ErrClosed", err)
	}
}

// A session that failed to store and waits for a retry is deleted: Flush
// and Close do not wait for it, and it is never written.
func TestDeleteFailingSession(t *testing.T) {
	ctx := context.Background()
	fb := newFaultyBackend()
	tr := startTracker(t, fb, shard.Config{Shards: 1, FlushInterval: time.Hour,
		RetryBaseDelay: time.Hour, RetryMaxDelay: time.Hour, BreakerThreshold: -1})
	observe(t, tr, "s", "1")
	fb.fail.Store(true)
	_ = flushShort(tr) // s fails and waits an hour for its retry
	fb.fail.Store(false)
	if err := tr.Delete(ctx, "s"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	flush(t, tr) // returns at once: nothing awaits a retry
	if err := tr.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, ok := storedOf(t, fb, "s"); ok {
		t.Fatal("a deleted session was written by a retry")
	}
}

// Deletes racing Observes of the same sessions under -race: no write ever
// moves a session backwards except across a successful Delete (the checker
// forgets a deleted session), and what is stored after the last Flush is
// each session's newest checkpoint in memory.
func TestDeleteRacingObserve(t *testing.T) {
	mb := memory.New()
	chk := fault.NewChecker(mb)
	tr := startTracker(t, chk, shard.Config{Shards: 2, FlushInterval: time.Millisecond})
	const sessions = 8
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				s := "s" + strconv.Itoa((w*7+i)%sessions)
				if _, err := tr.Observe(s, strconv.Itoa(w)+"-"+strconv.Itoa(i)); err != nil {
					t.Errorf("Observe: %v", err)
					return
				}
			}
		}()
	}
	for i := range 200 {
		if err := tr.Delete(context.Background(), "s"+strconv.Itoa(i%sessions)); err != nil {
			t.Fatalf("Delete: %v", err)
		}
	}
	wg.Wait()
	flush(t, tr)
	for i := range sessions {
		s := "s" + strconv.Itoa(i)
		want, inMemory := tr.Checkpoint(s)
		got, stored := storedOf(t, mb, s)
		if inMemory != stored || got != want {
			t.Errorf("session %s: stored (%+v, %v), in memory (%+v, %v)", s, got, stored, want, inMemory)
		}
	}
	if err := chk.Err(); err != nil {
		t.Fatal(err)
	}
}
