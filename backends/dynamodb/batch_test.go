package dynamodb_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	lastdynamo "github.com/lastevent/lastevent/backends/dynamodb"
	"github.com/lastevent/lastevent/core"
)

func TestBatchWritesInGroupsOf25(t *testing.T) {
	client := newClient(t)
	cfg := newTable(t, client, lastdynamo.Config{Mode: lastdynamo.Batch, MaxInFlight: 2})
	d := &dropClient{API: client, table: cfg.Table}
	b := newBackend(t, passAll{d}, cfg)
	batch := make([]core.Checkpoint, 60)
	for i := range batch {
		batch[i] = cp("s"+strconv.Itoa(i), "e"+strconv.Itoa(i), uint64(i+1))
	}
	res := store(ctxT(t), b, batch...)
	for i, r := range res {
		if r.Outcome != core.OutcomeWritten {
			t.Fatalf("Store(%+v): got %v / %v, want written", batch[i], r.Outcome, r.Err)
		}
	}
	if len(d.forwarded) != 3 || len(d.forwarded[0])+len(d.forwarded[1])+len(d.forwarded[2]) != 60 {
		t.Fatalf("BatchWriteItem calls: got %d with %v sessions, want 3 groups (25, 25, 10)", len(d.forwarded), d.forwarded)
	}
	for _, f := range d.forwarded {
		if len(f) != 25 && len(f) != 10 {
			t.Fatalf("BatchWriteItem group of %d, want 25 or 10", len(f))
		}
	}
	got := scanTable(t, client, cfg.Table)
	for _, c := range batch {
		if got[c.Session] != c {
			t.Errorf("%s: stored %+v, want %+v", c.Session, got[c.Session], c)
		}
	}
}

// passAll forwards batch writes without dropping: dropClient with nothing
// to drop would still halve, so this records the groups only.
type passAll struct{ *dropClient }

func (p passAll) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	out, err := p.dropClient.API.BatchWriteItem(ctx, in, o...)
	if err == nil {
		p.record(sessionsOfPuts(in.RequestItems[p.table]))
	}
	return out, err
}

func TestBatchModeOverwritesWithoutCondition(t *testing.T) {
	// Documented limitation: BatchWriteItem takes no condition, so an older
	// checkpoint replaces a newer one. Batch mode needs one writer per session.
	client, b, cfg := setup(t, lastdynamo.Config{Mode: lastdynamo.Batch})
	ctx := ctxT(t)
	mustStored(t, nil, store(ctx, b, cp("s", "seven", 7)))
	if r := store(ctx, b, cp("s", "three", 3))[0]; r.Outcome != core.OutcomeWritten {
		t.Fatalf("batch Store of an older seq: got %v / %v, want written (no condition)", r.Outcome, r.Err)
	}
	if got, _ := rawCheckpoint(t, client, cfg.Table, "s"); got != cp("s", "three", 3) {
		t.Fatalf("stored after older batch write: got %+v, want seq 3", got)
	}
}

func TestBatchDuplicatesInOneCallKeepNewest(t *testing.T) {
	client, b, cfg := setup(t, lastdynamo.Config{Mode: lastdynamo.Batch})
	batch := []core.Checkpoint{cp("a", "5", 5), cp("a", "7", 7), cp("a", "3", 3), cp("b", "1", 1), cp("b", "1bis", 1)}
	res := store(ctxT(t), b, batch...)
	want := []core.Outcome{core.OutcomeStale, core.OutcomeWritten, core.OutcomeStale, core.OutcomeWritten, core.OutcomeStale}
	for i, r := range res {
		if r.Outcome != want[i] {
			t.Errorf("Store(%+v): got %v / %v, want %v", batch[i], r.Outcome, r.Err, want[i])
		}
	}
	got := scanTable(t, client, cfg.Table)
	if got["a"] != cp("a", "7", 7) || got["b"] != cp("b", "1", 1) {
		t.Fatalf("table: got %v, want a at 7 and the first b at 1", got)
	}
}

func TestBatchRetriesUnprocessedItems(t *testing.T) {
	client := newClient(t)
	cfg := newTable(t, client, lastdynamo.Config{Mode: lastdynamo.Batch, RetryBaseDelay: time.Millisecond, RetryMaxDelay: 5 * time.Millisecond})
	d := &dropClient{API: client, table: cfg.Table}
	b := newBackend(t, d, cfg)
	batch := make([]core.Checkpoint, 25)
	for i := range batch {
		batch[i] = cp("u"+strconv.Itoa(i), "e", uint64(i+1))
	}
	res := store(ctxT(t), b, batch...)
	for i, r := range res {
		if r.Outcome != core.OutcomeWritten {
			t.Fatalf("Store(%+v): got %v / %v, want written after retries", batch[i], r.Outcome, r.Err)
		}
	}
	// Halving 25 items: 13, 6, 3, 2, 1 forwarded; 12+6+3+1+0 dropped.
	if d.writeCalls != 5 || d.droppedPuts != 22 {
		t.Fatalf("BatchWriteItem calls %d, dropped %d: want 5 calls and 22 dropped", d.writeCalls, d.droppedPuts)
	}
	if got := scanTable(t, client, cfg.Table); len(got) != 25 {
		t.Fatalf("table holds %d items, want 25", len(got))
	}
}

func TestBatchUnprocessedUntilContextEnds(t *testing.T) {
	client := newClient(t)
	cfg := newTable(t, client, lastdynamo.Config{Mode: lastdynamo.Batch, RetryBaseDelay: time.Millisecond, RetryMaxDelay: 10 * time.Millisecond})
	d := &dropClient{API: client, table: cfg.Table, stuck: map[string]bool{"stuck": true}}
	b := newBackend(t, d, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	batch := []core.Checkpoint{cp("ok", "1", 1), cp("stuck", "1", 1)}
	res := store(ctx, b, batch...)
	if res[0].Outcome != core.OutcomeWritten {
		t.Fatalf("Store(ok): got %v / %v, want written", res[0].Outcome, res[0].Err)
	}
	r := res[1]
	var e *lastdynamo.Error
	if r.Outcome != core.OutcomeFailed || !core.IsRetryable(r.Err) || !errors.Is(r.Err, context.DeadlineExceeded) || !errors.As(r.Err, &e) ||
		e.Code != lastdynamo.CodeUnprocessed || e.Session != "stuck" || e.Seq != 1 {
		t.Fatalf("Store(stuck): got %v / %v, want a retryable Unprocessed failure naming stuck seq 1 wrapping DeadlineExceeded", r.Outcome, r.Err)
	}
	if d.writeCalls < 3 {
		t.Fatalf("BatchWriteItem calls: got %d, want retries until the deadline", d.writeCalls)
	}
}
