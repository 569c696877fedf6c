package redis_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	goredis "github.com/redis/go-redis/v9"

	lastredis "github.com/lastevent/lastevent/backends/redis"
	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/shard"
)

// A tracker persisting to Redis. The client is the caller's: standalone
// here; redis.NewFailoverClient (Sentinel) and redis.NewClusterClient work
// the same. ContextTimeoutEnabled lets a flush's StoreTimeout bound each
// pipeline, and few client retries leave retrying to the tracker's backoff.
// (Compiled, not run: it needs a server.)
func ExampleNew() {
	client := goredis.NewClient(&goredis.Options{
		Addr:                  "127.0.0.1:6379",
		ContextTimeoutEnabled: true,
		MaxRetries:            1,
	})
	defer client.Close() // runs after the tracker's Close below

	backend, err := lastredis.New(client, lastredis.Config{Prefix: "sse:cp:", TTL: 7 * 24 * time.Hour})
	if err != nil {
		log.Fatal(err)
	}
	tracker, err := shard.New(backend, shard.Config{})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	defer tracker.Close(ctx)

	if _, err := tracker.Resume(ctx, "session-1"); err != nil { // continue the stored Seq and window
		log.Print(err)
	}
	_, _ = tracker.Observe("session-1", "42")
}

// The key of each session: Prefix, then the session name; with a hash tag,
// every key hashes to the same Redis Cluster slot, so a flush batch is one
// pipeline to one node. New makes no request, so no server is needed here.
func ExampleBackend_Key() {
	client := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379"})
	defer client.Close()
	for _, cfg := range []lastredis.Config{{}, {Prefix: "gw:", HashTag: "cp"}} {
		b, err := lastredis.New(client, cfg)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(b.Key("session-1"))
	}
	// Output:
	// lastevent:session-1
	// gw:{cp}session-1
}

// Classify tells the tracker's retry apart from a failure that needs an
// operator: a lost connection or an ended context is retryable, a key of
// another type or a cross-slot request is not.
func ExampleClassify() {
	for _, err := range []error{
		context.DeadlineExceeded,
		goredis.ErrNoScript,  // the script cache lost the script again
		goredis.ErrCrossSlot, // a reply the same request gets again
		goredis.ErrClosed,    // the caller closed the client
	} {
		code, retryable := lastredis.Classify(err)
		fmt.Printf("%s retryable=%v\n", code, retryable)
	}

	// A Store failure carries the class, the checkpoint and the code.
	err := &lastredis.Error{Backend: "redis", Op: "EVALSHA", Session: "s", Seq: 3, Code: "WRONGTYPE", Err: errors.New("WRONGTYPE ...")}
	var e *lastredis.Error
	fmt.Println(errors.Is(err, core.ErrPermanent), errors.As(err, &e) && e.Code == "WRONGTYPE")
	fmt.Println(err)
	// Output:
	// ContextCanceled retryable=true
	// NOSCRIPT retryable=true
	// CROSSSLOT retryable=false
	// ClientClosed retryable=false
	// true true
	// lastevent/redis: EVALSHA session "s" seq 3: permanent WRONGTYPE: WRONGTYPE ...
}
