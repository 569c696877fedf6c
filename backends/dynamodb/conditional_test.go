package dynamodb_test

import (
	"context"
	"errors"
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
