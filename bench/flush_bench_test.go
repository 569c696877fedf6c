package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	goredis "github.com/redis/go-redis/v9"

	lastdynamo "github.com/lastevent/lastevent/backends/dynamodb"
	"github.com/lastevent/lastevent/backends/memory"
	lastredis "github.com/lastevent/lastevent/backends/redis"
	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/internal/dynalite"
	"github.com/lastevent/lastevent/shard"
)

// flushSessions is how many sessions each Flush writes: one flusher batch
// per shard (4 shards of 64 dirty sessions).
const flushSessions = 256

// BenchmarkFlush measures checkpoints written per second through
// shard.Tracker.Flush, the latency of each Backend.Store call the flushers
// make, and the network round trips per Flush and per Store call, for the
// memory backend beside DynamoDB (dynalite under tools/dynalite/run.sh, or
// the endpoint in LASTEVENT_DYNAMODB_ENDPOINT) in conditional and batch
// mode, and Redis (tools/redis/run.sh, or the server in
// LASTEVENT_REDIS_ADDR). Each iteration dirties every session with one new
// event and flushes; only the Flush is timed. The DynamoDB and Redis cases
// skip when their server is unset.
//
//	tools/dynalite/run.sh tools/redis/run.sh go test -run '^$' -bench 'Flush$' -benchmem -count 6 ./bench
func BenchmarkFlush(b *testing.B) {
	for _, impl := range flushImpls {
		b.Run("backend="+impl+"/sessions="+strconv.Itoa(flushSessions), func(b *testing.B) {
			ft := newFlushTarget(b, impl)
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				ft.dirty(b)
				b.StartTimer()
				ft.flush(b)
			}
			b.StopTimer()
			ft.report(b, b.N)
		})
	}
}

// BenchmarkFlushInterleaved runs the backends in turn, one Flush of each
// per iteration, so a busy machine slows them all alike and their ratios
// hold; it reports each one's checkpoints/s and the ratios.
//
//	tools/dynalite/run.sh tools/redis/run.sh go test -run '^$' -bench FlushInterleaved -count 6 ./bench
func BenchmarkFlushInterleaved(b *testing.B) {
	targets := make([]*flushTarget, len(flushImpls))
	for i, impl := range flushImpls {
		targets[i] = newFlushTarget(b, impl)
	}
	runInterleaved(b, targets)
	rate := make([]float64, len(targets))
	for i, ft := range targets {
		rate[i] = float64(b.N*flushSessions) / ft.elapsed.Seconds()
		b.ReportMetric(rate[i], flushImpls[i]+"-checkpoints/s")
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(rate[2]/rate[1], "batch/conditional")
	b.ReportMetric(rate[0]/rate[1], "memory/conditional")
	b.ReportMetric(rate[3]/rate[1], "redis/conditional")
}

// runInterleaved runs b.N rounds of one untimed dirty and one timed Flush
// of each target in turn, so a busy machine slows all alike, then checks
// that every Flush stored every session.
func runInterleaved(b *testing.B, targets []*flushTarget) {
	b.ResetTimer()
	for range b.N {
		for _, ft := range targets {
			b.StopTimer()
			ft.dirty(b)
			b.StartTimer()
			ft.flush(b)
		}
	}
	b.StopTimer()
	for _, ft := range targets {
		ft.check(b, b.N)
	}
}

var flushImpls = []string{"memory", "dynamodb-conditional", "dynamodb-batch", "redis"}

// flushTarget is a Tracker on one backend with flushSessions sessions.
type flushTarget struct {
	tr      *shard.Tracker
	timed   *timedBackend
	names   []string
	next    int
	elapsed time.Duration // total time in timed Flush calls
	// trips returns the network round trips the backend made so far (nil:
	// none, the memory backend); trips0 is its value after the warm-up.
	trips  func() uint64
	trips0 uint64
}

func newFlushTarget(b *testing.B, impl string) *flushTarget {
	b.Helper()
	be, trips := newFlushBackend(b, impl)
	ft := startFlushTarget(b, be, shard.Config{})
	if trips != nil {
		ft.trips, ft.trips0 = trips, trips()
	}
	return ft
}

// startFlushTarget starts a flushTarget on backend with cfg, whose Shards,
// FlushInterval and Logger it sets.
func startFlushTarget(b *testing.B, backend core.Backend, cfg shard.Config) *flushTarget {
	b.Helper()
	ft := &flushTarget{timed: &timedBackend{Backend: backend}, names: sessionNames(flushSessions)}
	cfg.Shards = 4
	cfg.FlushInterval = time.Hour // only Flush writes
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	tr, err := shard.New(ft.timed, cfg)
	if err != nil {
		b.Fatalf("shard.New: %v", err)
	}
	ft.tr = tr
	b.Cleanup(func() {
		if err := tr.Close(context.Background()); err != nil {
			b.Errorf("Close: %v", err)
		}
	})
	ft.dirty(b) // a session's first write may load it first: not measured
	if err := tr.Flush(context.Background()); err != nil {
		b.Fatalf("warm-up Flush: %v", err)
	}
	ft.timed.reset()
	return ft
}

// dirty gives every session one new event.
func (ft *flushTarget) dirty(b *testing.B) {
	ft.next++
	id := strconv.Itoa(ft.next)
	for _, s := range ft.names {
		if ok, err := ft.tr.Observe(s, id); !ok || err != nil {
			b.Fatalf("Observe(%q, %q): accepted=%v err=%v", s, id, ok, err)
		}
	}
}

// flush writes every dirty session and adds the time taken to elapsed.
func (ft *flushTarget) flush(b *testing.B) {
	start := time.Now()
	if err := ft.tr.Flush(context.Background()); err != nil {
		b.Fatalf("Flush: %v", err)
	}
	ft.elapsed += time.Since(start)
}

// check fails b unless rounds Flushes stored every session each time.
func (ft *flushTarget) check(b *testing.B, rounds int) {
	if got, want := ft.timed.written.Load(), int64(rounds*flushSessions); got != want {
		b.Fatalf("checkpoints stored: got %d, want %d", got, want)
	}
}

func (ft *flushTarget) report(b *testing.B, rounds int) {
	ft.check(b, rounds)
	b.ReportMetric(float64(rounds*flushSessions)/ft.elapsed.Seconds(), "checkpoints/s")
	p50, p99 := ft.timed.percentiles()
	b.ReportMetric(float64(p50.Microseconds()), "store-p50-µs")
	b.ReportMetric(float64(p99.Microseconds()), "store-p99-µs")
	if ft.trips != nil {
		trips := float64(ft.trips() - ft.trips0)
		b.ReportMetric(trips/float64(rounds), "round-trips/Flush")
		b.ReportMetric(trips/float64(ft.timed.stores.Load()), "round-trips/Store")
	}
}

// newFlushBackend returns the backend impl names, closed when b ends, and
// a reader of the network round trips it made (DynamoDB requests, Redis
// pipelines and single commands), nil for memory.
func newFlushBackend(b *testing.B, impl string) (core.Backend, func() uint64) {
	b.Helper()
	switch impl {
	case "memory":
		return memory.New(), nil
	case "redis":
		return newFlushRedis(b)
	}
	ep := os.Getenv("LASTEVENT_DYNAMODB_ENDPOINT")
	if ep == "" {
		b.Skip("LASTEVENT_DYNAMODB_ENDPOINT is unset: run under tools/dynalite/run.sh (as make test does) to benchmark DynamoDB")
	}
	tp := http.DefaultTransport.(*http.Transport).Clone()
	tp.MaxIdleConnsPerHost = 64 // as many as requests in flight: no reconnects
	b.Cleanup(tp.CloseIdleConnections)
	client := dynalite.Client(ep, &http.Client{Transport: tp})
	counted := &requestCounter{API: client}
	cfg := lastdynamo.Config{Table: fmt.Sprintf("bench-flush-%d-%d", os.Getpid(), time.Now().UnixNano())}
	if impl == "dynamodb-batch" {
		cfg.Mode = lastdynamo.Batch
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := lastdynamo.CreateTable(ctx, client, cfg); err != nil {
		b.Fatalf("CreateTable: %v", err)
	}
	be, err := lastdynamo.New(counted, cfg)
	if err != nil {
		b.Fatalf("dynamodb.New: %v", err)
	}
	b.Cleanup(func() {
		_ = be.Close()
		_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(cfg.Table)})
	})
	return be, counted.n.Load
}

// newFlushRedis returns a Redis backend on the server in
// LASTEVENT_REDIS_ADDR under a prefix of its own, whose keys are deleted
// when b ends, and a reader of its round trips (Stats.RoundTrips).
func newFlushRedis(b *testing.B) (core.Backend, func() uint64) {
	addr := os.Getenv("LASTEVENT_REDIS_ADDR")
	if addr == "" {
		b.Skip("LASTEVENT_REDIS_ADDR is unset: run under tools/redis/run.sh (as make test does) to benchmark Redis")
	}
	client := goredis.NewClient(&goredis.Options{Addr: addr, ContextTimeoutEnabled: true, MaxRetries: 1})
	be, err := lastredis.New(client, lastredis.Config{Prefix: fmt.Sprintf("bench-flush:%d-%d:", os.Getpid(), time.Now().UnixNano())})
	if err != nil {
		b.Fatalf("redis.New: %v", err)
	}
	b.Cleanup(func() {
		pipe := client.Pipeline()
		for _, s := range sessionNames(flushSessions) {
			pipe.Del(context.Background(), be.Key(s))
		}
		_, _ = pipe.Exec(context.Background())
		_ = client.Close()
	})
	return be, func() uint64 { return be.Stats().RoundTrips }
}

// requestCounter counts the DynamoDB requests a backend makes: one round
// trip each.
type requestCounter struct {
	lastdynamo.API
	n atomic.Uint64
}

func (c *requestCounter) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.n.Add(1)
	return c.API.UpdateItem(ctx, in, o...)
}

func (c *requestCounter) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	c.n.Add(1)
	return c.API.BatchWriteItem(ctx, in, o...)
}

func (c *requestCounter) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.n.Add(1)
	return c.API.GetItem(ctx, in, o...)
}

func (c *requestCounter) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	c.n.Add(1)
	return c.API.BatchGetItem(ctx, in, o...)
}

func (c *requestCounter) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	c.n.Add(1)
	return c.API.DeleteItem(ctx, in, o...)
}

// timedBackend records the duration of every Store call and counts the
// checkpoints stored.
type timedBackend struct {
	core.Backend
	written atomic.Int64
	stores  atomic.Int64 // Store calls
	mu      sync.Mutex
	lat     []time.Duration
}

func (t *timedBackend) Store(ctx context.Context, batch []core.Checkpoint, results []core.Result) {
	start := time.Now()
	t.Backend.Store(ctx, batch, results)
	d := time.Since(start)
	n := 0
	for _, r := range results {
		if r.Stored() {
			n++
		}
	}
	t.written.Add(int64(n))
	t.stores.Add(1)
	t.mu.Lock()
	t.lat = append(t.lat, d)
	t.mu.Unlock()
}

func (t *timedBackend) reset() {
	t.written.Store(0)
	t.stores.Store(0)
	t.mu.Lock()
	t.lat = t.lat[:0]
	t.mu.Unlock()
}

func (t *timedBackend) percentiles() (p50, p99 time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lat) == 0 {
		return 0, 0
	}
	s := slices.Clone(t.lat)
	slices.Sort(s)
	return s[len(s)*50/100], s[min(len(s)-1, len(s)*99/100)]
}
