package shard_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"strings"
	"time"

	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/shard"
)

// A production setup: bounded memory, every failed write reported, metrics
// with a label per tracker, and a shutdown with a deadline that says what it
// could not store. With DynamoDB, pass a backends/dynamodb Backend instead of
// memory.New() (see README, "DynamoDB").
func ExampleNew_production() {
	tracker, err := shard.New(memory.New(), shard.Config{
		FlushInterval: time.Second,      // the recovery point: at most this much is lost in a crash
		MaxSessions:   1_000_000,        // memory bound; clean sessions are evicted beyond it
		IdleTTL:       30 * time.Minute, // evict sessions quiet for this long
		RetryMaxDelay: time.Minute,      // backoff ceiling for failed writes
		MetricsLabels: map[string]string{"tracker": "proxy-a"},
		OnError: func(f shard.WriteFailure) {
			// Called for every failed write; the tracker retries it anyway.
			_ = f // e.g. count f.Err by class, page on permanent failures
		},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), // quiet for the example
	})
	if err != nil {
		log.Fatal(err)
	}
	// In a server: metrics.RegisterSet(tracker.Metrics()), then serve
	// metrics.WritePrometheus on /metrics (docs/operations.md).

	ctx := context.Background()
	if _, err := tracker.Resume(ctx, "client-42"); err != nil { // on (re)connect: continue the stored history
		log.Fatal(err)
	}
	for _, id := range []string{"a", "b", "a"} {
		if _, err := tracker.Observe("client-42", id); err != nil {
			log.Fatal(err)
		}
	}

	shutdown, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := tracker.Close(shutdown); err != nil {
		log.Printf("checkpoints not stored: %v", err) // wraps shard.ErrUnflushed with the count
	}

	var exposition bytes.Buffer
	tracker.Metrics().WritePrometheus(&exposition)
	for _, line := range strings.Split(exposition.String(), "\n") {
		if strings.HasPrefix(line, "lastevent_events_") && !strings.Contains(line, "rejected") {
			fmt.Println(line)
		}
	}
	// Output:
	// lastevent_events_observed_total{tracker="proxy-a"} 3
	// lastevent_events_accepted_total{tracker="proxy-a"} 2
	// lastevent_events_deduplicated_total{tracker="proxy-a"} 1
}
