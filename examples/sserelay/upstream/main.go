// Command upstream is a test SSE server: it emits numbered events whose IDs
// are opaque strings, honours Last-Event-ID by replaying from that event, and
// can behave like a flaky at-least-once upstream: drop connections at random
// (cleanly or in the middle of an event) and resend an overlap of events the
// client already has before the ones it asked for. Randomness comes from
// -seed.
//
//	upstream -listen 127.0.0.1:8081 -interval 10ms -drop 0.02 -overlap 8
//
// Event n (from 1) has the ID idOf(n), 12 hex digits that do not sort in
// event order, and the data "event n" (every 7th event has a second data
// line). A connection without Last-Event-ID starts at event 1; one with an
// unknown ID is answered 400. It prints "upstream: listening on
// http://ADDR/events" on stdout and logs each connection, drop and overlap
// on stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "upstream:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		listen    = flag.String("listen", "127.0.0.1:0", "address to serve on")
		interval  = flag.Duration("interval", 10*time.Millisecond, "time between new events")
		count     = flag.Int("count", 0, "stop emitting after this many events (0: never)")
		drop      = flag.Float64("drop", 0, "probability of dropping the connection after each event sent")
		overlap   = flag.Int("overlap", 0, "on a reconnect, resend up to this many events the client already has (random, 0..overlap)")
		seed      = flag.Uint64("seed", 1, "seed of the drops, overlaps and event IDs")
		retry     = flag.Duration("retry", 100*time.Millisecond, "retry field sent at the start of each stream (0: none)")
		heartbeat = flag.Duration("heartbeat", time.Second, "interval of comment heartbeats")
	)
	flag.Parse()
	if *drop < 0 || *drop >= 1 || *overlap < 0 || *count < 0 || *interval <= 0 {
		return errors.New("need 0 <= -drop < 1, -overlap >= 0, -count >= 0, -interval > 0")
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	log := newEventLog(*seed)
	s := &server{log: log, chaos: newChaos(*seed, *drop, *overlap), retry: *retry, heartbeat: *heartbeat, logger: logger}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /events", s)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	genDone := make(chan struct{})
	go func() {
		defer close(genDone)
		log.generate(ctx, *interval, *count)
	}()
	fmt.Printf("upstream: listening on http://%s/events\n", ln.Addr())

	select {
	case <-ctx.Done():
	case err := <-done:
		stop()
		<-genDone
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	<-genDone
	return err
}
