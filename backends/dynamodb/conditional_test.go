package dynamodb_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"go.uber.org/goleak"

	lastdynamo "github.com/lastevent/lastevent/backends/dynamodb"
	"github.com/lastevent/lastevent/core"
)

func TestConditionalWritesAreMonotonic(t *testing.T) {
	client, b, cfg := setup(t, lastdynamo.Config{})
	ctx := ctxT(t)
	steps := []struct {
		in   core.Checkpoint
		want core.Outcome
		kept core.Checkpoint
	}{
		{cp("s", "five", 5), core.OutcomeWritten, cp("s", "five", 5)},
		{cp("s", "three", 3), core.OutcomeStale, cp("s", "five", 5)},
		{cp("s", "seven", 7), core.OutcomeWritten, cp("s", "seven", 7)},
		{cp("s", "other-seven", 7), core.OutcomeStale, cp("s", "seven", 7)}, // equal seq is stale
		{cp("s", "one", 1), core.OutcomeStale, cp("s", "seven", 7)},
	}
	for _, st := range steps {
		r := store(ctx, b, st.in)[0]
		if r.Outcome != st.want || r.Err != nil {
			t.Fatalf("Store(%+v): got %v (err %v), want %v", st.in, r.Outcome, r.Err, st.want)
		}
		if got, ok := rawCheckpoint(t, client, cfg.Table, "s"); !ok || got != st.kept {
			t.Fatalf("after Store(%+v): table holds (%+v, %v), want %+v", st.in, got, ok, st.kept)
		}
	}
}

func TestConditionalBatchWithDuplicatesKeepsNewest(t *testing.T) {
	client, b, cfg := setup(t, lastdynamo.Config{})
	ctx := ctxT(t)
	// One call may hold a session twice; the requests race, and whichever
	// order they land in, the newest stays and the other is written or stale.
	batch := []core.Checkpoint{cp("a", "5", 5), cp("a", "3", 3), cp("a", "7", 7), cp("b", "1", 1)}
	res := store(ctx, b, batch...)
	mustStored(t, batch, res)
	if res[2].Outcome != core.OutcomeWritten || res[3].Outcome != core.OutcomeWritten {
		t.Fatalf("newest a and only b: got %v and %v, want written", res[2].Outcome, res[3].Outcome)
	}
	if got, _ := rawCheckpoint(t, client, cfg.Table, "a"); got != cp("a", "7", 7) {
		t.Fatalf("a after batch: got %+v, want seq 7", got)
	}
}

func TestConditionalAttributesAndTTL(t *testing.T) {
	now := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
	client, b, cfg := setup(t, lastdynamo.Config{TTL: 48 * time.Hour, Now: func() time.Time { return now }})
	mustStored(t, []core.Checkpoint{cp("s", "e1", 1)}, store(ctxT(t), b, cp("s", "e1", 1)))
	it := rawItem(t, client, cfg.Table, "s")
	want := map[string]string{
		"updated_at": strconv.FormatInt(now.UnixMilli(), 10),
		"expires_at": strconv.FormatInt(now.Add(48*time.Hour).Unix(), 10),
		"seq":        "1",
	}
	for attr, v := range want {
		n, ok := it[attr].(*types.AttributeValueMemberN)
		if !ok || n.Value != v {
			t.Errorf("attribute %s: got %#v, want N %s", attr, it[attr], v)
		}
	}
	if len(it) != 5 {
		t.Errorf("item has %d attributes (%v), want 5", len(it), it)
	}
}

func TestConcurrentWritersNeverRegress(t *testing.T) {
	client := newClient(t)
	cfg := newTable(t, client, lastdynamo.Config{MaxInFlight: 8})
	// Two Backends on one table, as two processes would have, storing random
	// seqs of the same sessions at once.
	backends := []*lastdynamo.Backend{newBackend(t, client, cfg), newBackend(t, client, cfg)}
	const sessionsN, rounds = 8, 12
	names := sessions("c", sessionsN)
	var maxes [2][sessionsN]uint64
	var wg sync.WaitGroup
	for w, b := range backends {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for range rounds {
				batch := make([]core.Checkpoint, sessionsN)
				for s := range batch {
					seq := rng.Uint64N(1000) + 1
					batch[s] = cp(names[s], "w"+strconv.Itoa(w)+"-"+strconv.FormatUint(seq, 10), seq)
					maxes[w][s] = max(maxes[w][s], seq)
				}
				results := store(ctxT(t), b, batch...)
				for i, r := range results {
					if !r.Stored() {
						t.Errorf("Store(%+v): got %v (%v), want stored", batch[i], r.Outcome, r.Err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	got := scanTable(t, client, cfg.Table)
	for s, name := range names {
		want := max(maxes[0][s], maxes[1][s])
		if got[name].Seq != want {
			t.Errorf("%s: stored seq %d, want the highest written, %d", name, got[name].Seq, want)
		}
	}
}

func TestStoreWithEndedContextFailsRetryably(t *testing.T) {
	client, b, cfg := setup(t, lastdynamo.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	batch := []core.Checkpoint{cp("a", "1", 1), cp("b", "1", 1), cp("c", "1", 1)}
	for i, r := range store(ctx, b, batch...) {
		if r.Outcome != core.OutcomeFailed || !errors.Is(r.Err, core.ErrRetryable) || !errors.Is(r.Err, context.Canceled) {
			t.Errorf("Store(%+v) with cancelled ctx: got %v / %v, want failed, retryable, wrapping context.Canceled", batch[i], r.Outcome, r.Err)
		}
		var e *lastdynamo.Error
		if !errors.As(r.Err, &e) || e.Session != batch[i].Session || e.Seq != 1 {
			t.Errorf("Store(%+v) with cancelled ctx: error %v does not name the checkpoint", batch[i], r.Err)
		}
	}
	if got := scanTable(t, client, cfg.Table); len(got) != 0 {
		t.Fatalf("table after cancelled Store: %v, want empty", got)
	}
}

func TestStoreRejectsInvalidCheckpointsPermanently(t *testing.T) {
	for _, mode := range []lastdynamo.Mode{lastdynamo.Conditional, lastdynamo.Batch} {
		t.Run(mode.String(), func(t *testing.T) {
			client, b, cfg := setup(t, lastdynamo.Config{Mode: mode})
			batch := []core.Checkpoint{cp("", "1", 1), cp("s", "1", 0), cp("ok", "1", 1)}
			res := store(ctxT(t), b, batch...)
			for i := range 2 {
				if res[i].Outcome != core.OutcomeFailed || core.IsRetryable(res[i].Err) {
					t.Errorf("Store(%+v): got %v / %v, want a permanent failure", batch[i], res[i].Outcome, res[i].Err)
				}
			}
			if res[2].Outcome != core.OutcomeWritten {
				t.Errorf("Store(%+v): got %v / %v, want written", batch[2], res[2].Outcome, res[2].Err)
			}
			if got := scanTable(t, client, cfg.Table); len(got) != 1 {
				t.Fatalf("table: got %v, want only session ok", got)
			}
		})
	}
}

// gateClient holds every UpdateItem until limit calls are in flight at once,
// proving that many run concurrently, and records the most ever in flight.
type gateClient struct {
	lastdynamo.API
	limit    int32
	inFlight atomic.Int32
	maxSeen  atomic.Int32
	arrived  chan struct{}
	open     chan struct{}
	once     sync.Once
}

func (g *gateClient) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	n := g.inFlight.Add(1)
	defer g.inFlight.Add(-1)
	for {
		m := g.maxSeen.Load()
		if n <= m || g.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	if n == g.limit {
		g.once.Do(func() { close(g.open) })
	}
	select {
	case <-g.open:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return g.API.UpdateItem(ctx, in, o...)
}

func TestStoreRunsMaxInFlightOnFixedWorkers(t *testing.T) {
	const limit = 4
	client := newClient(t)
	cfg := newTable(t, client, lastdynamo.Config{MaxInFlight: limit})
	ignore := goleak.IgnoreCurrent()
	before := runtime.NumGoroutine()
	g := &gateClient{API: client, limit: limit, open: make(chan struct{})}
	b, err := lastdynamo.New(g, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := runtime.NumGoroutine() - before; got != limit {
		t.Errorf("goroutines started by New: got %d, want MaxInFlight = %d", got, limit)
	}
	batch := make([]core.Checkpoint, 40)
	for i := range batch {
		batch[i] = cp("s"+strconv.Itoa(i), "1", 1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for range 3 { // concurrent Store calls share the same workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := store(ctx, b, batch...)
			for i, r := range res {
				if !r.Stored() {
					t.Errorf("Store(%+v): got %v / %v, want stored", batch[i], r.Outcome, r.Err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if got := g.maxSeen.Load(); got != limit {
		t.Errorf("most UpdateItem calls in flight: got %d, want exactly MaxInFlight = %d", got, limit)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Close stops every worker: nothing New started is left. The HTTP
	// client's keep-alive connections belong to the shared transport.
	goleak.VerifyNone(t, ignore,
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"))
	res := store(ctx, b, cp("late", "1", 1))[0]
	if res.Outcome != core.OutcomeFailed || !errors.Is(res.Err, lastdynamo.ErrClosed) || core.IsRetryable(res.Err) {
		t.Fatalf("Store after Close: got %v / %v, want a permanent failure wrapping ErrClosed", res.Outcome, res.Err)
	}
	if _, err := b.Load(ctx, []string{"s1"}); !errors.Is(err, lastdynamo.ErrClosed) {
		t.Fatalf("Load after Close: got %v, want ErrClosed", err)
	}
	if err := b.Delete(ctx, "s1"); !errors.Is(err, lastdynamo.ErrClosed) {
		t.Fatalf("Delete after Close: got %v, want ErrClosed", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// blockClient holds every UpdateItem until its context ends, announcing
// each arrival on entered.
type blockClient struct {
	lastdynamo.API
	entered chan struct{}
}

func (c blockClient) UpdateItem(ctx context.Context, _ *dynamodb.UpdateItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.entered <- struct{}{}
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestCloseDuringStore(t *testing.T) {
	client := newClient(t)
	bc := blockClient{API: client, entered: make(chan struct{}, 16)}
	b, err := lastdynamo.New(bc, lastdynamo.Config{Table: "never-reached", MaxInFlight: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	batch := make([]core.Checkpoint, 10)
	for i := range batch {
		batch[i] = cp("s"+strconv.Itoa(i), "e", 1)
	}
	done := make(chan []core.Result)
	go func() { done <- store(ctx, b, batch...) }()
	<-bc.entered
	<-bc.entered // both workers are busy; the Store waits to hand out the third item
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	res := <-done
	var inFlight, closed int
	for i, r := range res {
		switch {
		case r.Outcome == core.OutcomeFailed && errors.Is(r.Err, context.DeadlineExceeded) && core.IsRetryable(r.Err):
			inFlight++
		case r.Outcome == core.OutcomeFailed && errors.Is(r.Err, lastdynamo.ErrClosed) && !core.IsRetryable(r.Err):
			closed++
		default:
			t.Errorf("Store(%+v) across Close: got %v / %v", batch[i], r.Outcome, r.Err)
		}
	}
	if inFlight != 2 || closed != 8 {
		t.Fatalf("across Close: %d in-flight failures (want 2, ended by their context), %d closed (want 8)", inFlight, closed)
	}
}
