// Command client reads an event stream and prints each event as one JSON
// line, {"id": ..., "data": ...}, on stdout. Like a browser's EventSource
// it reconnects after a dropped connection, sending the last event ID it
// received as Last-Event-ID and waiting as long as the server's retry field
// asks, plus a backoff with full jitter that grows while the server stays
// unreachable. It is relay.Follow, the package's EventSource in Go.
//
//	client -url http://127.0.0.1:8082/events
//	client -url ... -last-event-id 3f2a9c01d4e7 -n 100
//
// With -n it exits 0 after that many events.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/lastevent/lastevent/relay"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
}

// errDone ends the stream after -n events.
var errDone = errors.New("done")

func run() error {
	var (
		url    = flag.String("url", "", "URL of the event stream (required)")
		lastID = flag.String("last-event-id", "", "resume after this event ID (default: from the start)")
		n      = flag.Int("n", 0, "exit after this many events (0: never)")
		minB   = flag.Duration("backoff-min", 100*time.Millisecond, "cap of the first jittered reconnect wait, added to the server's retry")
		maxB   = flag.Duration("backoff-max", 2*time.Second, "cap of every jittered reconnect wait")
	)
	flag.Parse()
	if *url == "" {
		return errors.New("-url is required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// MaxOverlap 0: an SSE server owes its client no duplicates, so the
	// client does not hold events back looking for them.
	cfg := relay.FollowConfig{URL: *url, MinBackoff: *minB, MaxBackoff: *maxB,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))}
	var start relay.Position
	if *lastID != "" {
		start = relay.At(*lastID)
	}
	out := json.NewEncoder(os.Stdout)
	seen, pos := 0, start
	err := relay.Follow(ctx, cfg, start, func(e relay.Event) error {
		pos = pos.After(e) // an event without an id keeps the previous one, as in EventSource
		line := struct {
			ID   string `json:"id"`
			Data string `json:"data"`
		}{pos.ID, e.Data}
		if err := out.Encode(line); err != nil {
			return err
		}
		seen++
		if *n > 0 && seen >= *n {
			return errDone
		}
		return nil
	})
	if errors.Is(err, errDone) || errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
