package redis_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	lastredis "github.com/lastevent/lastevent/backends/redis"
	"github.com/lastevent/lastevent/backends/redis/redistest"
	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/internal/testmodel"
)

// Every client a test opens is closed by its cleanup, and every private
// redis-server is stopped: no goroutine may outlive the tests. go-redis's
// own log lines (a killed server's failed dials) are expected here and
// kept out of the output.
func TestMain(m *testing.M) {
	goredis.SetLogger(discardLogger{})
	goleak.VerifyTestMain(m)
}

type discardLogger struct{}

func (discardLogger) Printf(context.Context, string, ...any) {}

var prefixSeq atomic.Uint64

var unsafePrefixChars = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// prefix returns a key prefix no other test (nor another run against the
// same server) uses, derived from the test's name.
func prefix(t testing.TB) string {
	name := unsafePrefixChars.ReplaceAllString(t.Name(), "-")
	if len(name) > 120 {
		name = name[:120]
	}
	return fmt.Sprintf("le-test:%s:%d-%d-%d:", name, os.Getpid(), time.Now().UnixNano(), prefixSeq.Add(1))
}

// shared returns a client of the shared server (skipping, or failing under
// CI, without one).
func shared(t testing.TB) *goredis.Client {
	t.Helper()
	return redistest.Client(t, redistest.Require(t))
}

// newBackend returns a Backend on client with cfg, under a prefix of the
// test's own unless cfg names one.
func newBackend(t testing.TB, client goredis.UniversalClient, cfg lastredis.Config) *lastredis.Backend {
	t.Helper()
	if cfg.Prefix == "" {
		cfg.Prefix = prefix(t)
	}
	b, err := lastredis.New(client, cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return b
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func cp(session, id string, seq uint64) core.Checkpoint {
	return core.Checkpoint{Session: session, EventID: id, Seq: seq}
}

// withWindow returns c carrying the hashes of ids, oldest first; the last
// must be c's event ID.
func withWindow(c core.Checkpoint, ids ...string) core.Checkpoint {
	c.Window = testmodel.WindowOf(ids)
	return c
}

// store writes batch through b and returns the results.
func store(ctx context.Context, b core.Backend, batch ...core.Checkpoint) []core.Result {
	results := make([]core.Result, len(batch))
	b.Store(ctx, batch, results)
	return results
}

// mustStored fails the test unless every result is stored.
func mustStored(t testing.TB, batch []core.Checkpoint, results []core.Result) {
	t.Helper()
	for i, r := range results {
		if !r.Stored() {
			what := fmt.Sprintf("item %d", i)
			if i < len(batch) {
				what = fmt.Sprintf("%+v", batch[i])
			}
			t.Fatalf("Store(%s): got %v (%v), want stored", what, r.Outcome, r.Err)
		}
	}
}

// sessions returns n distinct session names with prefix.
func sessions(prefix string, n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf("%s-%04d", prefix, i)
	}
	return s
}

// putRaw replaces key with the hash of c exactly as given, window
// included, around the Backend, as a foreign writer would.
func putRaw(t testing.TB, client goredis.UniversalClient, key string, c core.Checkpoint) {
	t.Helper()
	ctx := ctxT(t)
	_, err := client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.Del(ctx, key)
		fields := []any{lastredis.FieldEventID, c.EventID, lastredis.FieldSeq, strconv.FormatUint(c.Seq, 10), lastredis.FieldUpdated, "0"}
		if c.Window != "" {
			fields = append(fields, lastredis.FieldWindow, string(c.Window))
		}
		p.HSet(ctx, key, fields...)
		return nil
	})
	if err != nil {
		t.Fatalf("raw HSET %q: %v", key, err)
	}
}
