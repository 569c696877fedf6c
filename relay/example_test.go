package relay_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"

	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/relay"
	"github.com/lastevent/lastevent/shard"
	"github.com/lastevent/lastevent/sse"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil)) // quiet for the examples

// upstream serves ids as events and then keeps the stream open: a stand-in
// for the SSE source a gateway relays. Asked for the events after an ID, it
// resends the overlap events before them, as an at-least-once source does.
func upstream(overlap int, ids ...string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w, err := sse.Upgrade(rw)
		if err != nil {
			return
		}
		from := 0
		if last, ok := sse.LastEventID(r); ok {
			from = max(0, slices.Index(ids, last)+1-overlap)
		}
		for _, id := range ids[from:] {
			_ = w.WriteEvent(sse.Event{ID: []byte(id), Data: []byte("event " + id)})
		}
		<-r.Context().Done()
	}))
}

// An SSE gateway in a dozen lines: a Tracker, a Relay reading the
// upstream through it, and the Relay as the http.Handler browsers connect
// to. The client here resumes after event 1 with the query parameter a
// page uses on its first connection (an EventSource cannot send the
// Last-Event-ID header then).
func Example() {
	up := upstream(0, "1", "2", "3")
	defer up.Close()

	ctx := context.Background()
	tracker, err := shard.New(memory.New(), shard.Config{Logger: quiet})
	if err != nil {
		log.Fatal(err)
	}
	defer tracker.Close(ctx) // after the relay's Close
	r, err := relay.New(ctx, relay.Config{
		URL:            up.URL,
		Session:        "feed",
		Tracker:        tracker,
		AllowedOrigins: []string{"https://app.example"},
		Logger:         quiet,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close(ctx)
	gateway := httptest.NewServer(r) // or http.Handle("/events", r)
	defer gateway.Close()

	cctx, stop := context.WithCancel(ctx)
	_ = relay.Follow(cctx, relay.FollowConfig{URL: gateway.URL + "?lastEventId=1", Logger: quiet}, relay.Position{},
		func(e relay.Event) error {
			fmt.Printf("%s: %s\n", e.ID, e.Data)
			if e.ID == "3" {
				stop()
			}
			return nil
		})
	// Output:
	// 2: event 2
	// 3: event 3
}

// A Reader hands on what the Tracker accepts: the replayed "2" is dropped
// without being copied.
func ExampleReader_Run() {
	up := upstream(0, "1", "2", "2", "3")
	defer up.Close()
	ctx := context.Background()
	tracker, err := shard.New(memory.New(), shard.Config{Logger: quiet})
	if err != nil {
		log.Fatal(err)
	}
	defer tracker.Close(ctx)
	reader, err := relay.NewReader(relay.ReaderConfig{URL: up.URL, Session: "feed", Tracker: tracker, Logger: quiet})
	if err != nil {
		log.Fatal(err)
	}
	errEnough := errors.New("enough")
	err = reader.Run(ctx, func(e relay.Event) error {
		fmt.Printf("%s: %s\n", e.ID, e.Data)
		if e.ID == "3" {
			return errEnough
		}
		return nil
	})
	id, _ := tracker.LastEventID("feed")
	fmt.Println("stopped:", err, "- Last-Event-ID", id, "- replays dropped", reader.Stats().ReplaysDropped)
	// Output:
	// 1: event 1
	// 2: event 2
	// 3: event 3
	// stopped: enough - Last-Event-ID 3 - replays dropped 1
}

// Follow reads a stream without a Tracker. Asked for the events after 3,
// this at-least-once upstream resends 2 and 3 first; with MaxOverlap,
// Follow finds its position (3) in what arrives and drops the overlap.
func ExampleFollow() {
	up := upstream(2, "1", "2", "3", "4")
	defer up.Close()
	ctx, stop := context.WithCancel(context.Background())
	_ = relay.Follow(ctx, relay.FollowConfig{URL: up.URL, MaxOverlap: 4, Logger: quiet}, relay.At("3"),
		func(e relay.Event) error {
			fmt.Printf("%s: %s\n", e.ID, e.Data)
			stop()
			return nil
		})
	// Output: 4: event 4
}
