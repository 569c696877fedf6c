package shard_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"

	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/shard"
)

// A quick start: deduplicate SSE event IDs of one session, read the ID to
// send as Last-Event-ID, and persist the checkpoint.
func Example() {
	ctx := context.Background()
	backend := memory.New()
	tracker, err := shard.New(backend, shard.Config{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), // quiet for the example
	})
	if err != nil {
		log.Fatal(err)
	}

	// "2" and "1" arrive twice: a reconnecting source replayed them.
	for _, id := range []string{"1", "2", "2", "3", "1"} {
		accepted, err := tracker.Observe("session-1", id)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("event %s accepted: %v\n", id, accepted)
	}

	lastID, _ := tracker.LastEventID("session-1")
	fmt.Println("Last-Event-ID:", lastID)

	// Checkpoints are written in the background; Flush waits for them.
	if err := tracker.Flush(ctx); err != nil {
		log.Fatal(err)
	}
	stored, _ := backend.Get("session-1")
	fmt.Printf("stored: event %s, seq %d\n", stored.EventID, stored.Seq)

	// Close writes what is left and stops the tracker's goroutines.
	if err := tracker.Close(ctx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// event 1 accepted: true
	// event 2 accepted: true
	// event 2 accepted: false
	// event 3 accepted: true
	// event 1 accepted: false
	// Last-Event-ID: 3
	// stored: event 3, seq 3
}

// After a restart, Resume continues a session from its stored checkpoint:
// its Last-Event-ID is known, a replay of that ID is a duplicate, and Seq
// carries on.
func ExampleTracker_Resume() {
	ctx := context.Background()
	backend := memory.New() // in production: a backend that outlives the process
	quiet := shard.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}

	// The first process observes two events and shuts down.
	before, err := shard.New(backend, quiet)
	if err != nil {
		log.Fatal(err)
	}
	_, _ = before.Observe("session-1", "a")
	_, _ = before.Observe("session-1", "b")
	if err := before.Close(ctx); err != nil {
		log.Fatal(err)
	}

	// The next process resumes the session before observing on it.
	after, err := shard.New(backend, quiet)
	if err != nil {
		log.Fatal(err)
	}
	defer after.Close(ctx)
	cp, err := after.Resume(ctx, "session-1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("resumed at event %s, seq %d\n", cp.EventID, cp.Seq)

	lastID, _ := after.LastEventID("session-1")
	fmt.Println("Last-Event-ID:", lastID)

	replayed, _ := after.Observe("session-1", "b")
	fmt.Println("replayed b accepted:", replayed)

	accepted, _ := after.Observe("session-1", "c")
	now, _ := after.Checkpoint("session-1")
	fmt.Printf("c accepted: %v, seq %d\n", accepted, now.Seq)
	// Output:
	// resumed at event b, seq 2
	// Last-Event-ID: b
	// replayed b accepted: false
	// c accepted: true, seq 3
}
