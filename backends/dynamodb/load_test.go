package dynamodb_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	lastdynamo "github.com/lastevent/lastevent/backends/dynamodb"
	"github.com/lastevent/lastevent/core"
)

// fill stores n checkpoints (session prefix-i, event e-i, seq i+1) with a
// batch-mode backend on the same table and returns them.
func fill(t *testing.T, client *dynamodb.Client, cfg lastdynamo.Config, prefix string, n int) []core.Checkpoint {
	t.Helper()
	cfg.Mode = lastdynamo.Batch
	w := newBackend(t, client, cfg)
	batch := make([]core.Checkpoint, n)
	for i, s := range sessions(prefix, n) {
		batch[i] = cp(s, "e-"+strconv.Itoa(i), uint64(i+1))
	}
	mustStored(t, batch, store(ctxT(t), w, batch...))
	return batch
}

func TestLoadThousandSessions(t *testing.T) {
	client := newClient(t)
	cfg := newTable(t, client, lastdynamo.Config{RetryBaseDelay: time.Millisecond, RetryMaxDelay: 5 * time.Millisecond})
	stored := fill(t, client, cfg, "load", 1000)
	names := append(sessions("load", 1000), "missing-1", "load-0007", "missing-2") // a repeat and two absent

	for _, tc := range []struct {
		name string
		drop bool
	}{{"all-processed", false}, {"half-unprocessed", true}} {
		t.Run(tc.name, func(t *testing.T) {
			var api lastdynamo.API = client
			d := &dropClient{API: client, table: cfg.Table}
			if tc.drop {
				api = d
			}
			b := newBackend(t, api, cfg)
			got, err := b.Load(ctxT(t), names)
			if err != nil {
				t.Fatalf("Load of %d sessions: %v", len(names), err)
			}
			if len(got) != 1000 {
				t.Fatalf("Load: got %d checkpoints, want 1000", len(got))
			}
			for _, c := range stored {
				if got[c.Session] != c {
					t.Fatalf("Load %s: got %+v, want %+v", c.Session, got[c.Session], c)
				}
			}
			if _, ok := got["missing-1"]; ok {
				t.Fatal("Load: absent session present in the result")
			}
			if tc.drop {
				// 1002 distinct keys: 10 groups of 100 and one of 2. Each call
				// processes half (rounded up) of what is left: 100 takes 7 calls
				// (50+25+12+6+3+1 = 97 keys left unprocessed), 2 takes 2 (1).
				if d.getCalls != 72 || d.droppedKeys != 971 {
					t.Fatalf("BatchGetItem calls %d, unprocessed keys %d: want 72 and 971", d.getCalls, d.droppedKeys)
				}
			}
		})
	}
}

func TestLoadOneSessionUsesGetItem(t *testing.T) {
	client, b, cfg := setup(t, lastdynamo.Config{})
	ctx := ctxT(t)
	mustStored(t, nil, store(ctx, b, cp("one", "id-9", 9)))
	// GetItem only: a client without BatchGetItem would fail a batch read.
	single := newBackend(t, noBatchGet{client}, cfg)
	got, err := single.Load(ctx, []string{"one", "one"}) // repeats collapse to one key
	if err != nil {
		t.Fatalf("Load(one): %v", err)
	}
	if len(got) != 1 || got["one"] != cp("one", "id-9", 9) {
		t.Fatalf("Load(one): got %v, want seq 9", got)
	}
	got, err = single.Load(ctx, nil) // no request at all
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("Load(nil): got (%v, %v), want empty non-nil map, nil", got, err)
	}
}

type noBatchGet struct{ lastdynamo.API }

func (noBatchGet) BatchGetItem(_ context.Context, _ *dynamodb.BatchGetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	return nil, errors.New("test: BatchGetItem must not be called for one session")
}

func TestLoadRejectsForeignItems(t *testing.T) {
	client, b, cfg := setup(t, lastdynamo.Config{})
	ctx := ctxT(t)
	bad := []map[string]types.AttributeValue{
		{"session": &types.AttributeValueMemberS{Value: "text-seq"}, "event_id": &types.AttributeValueMemberS{Value: "x"}, "seq": &types.AttributeValueMemberS{Value: "5"}},
		{"session": &types.AttributeValueMemberS{Value: "no-id"}, "seq": &types.AttributeValueMemberN{Value: "5"}},
		{"session": &types.AttributeValueMemberS{Value: "zero"}, "event_id": &types.AttributeValueMemberS{Value: "x"}, "seq": &types.AttributeValueMemberN{Value: "0"}},
		{"session": &types.AttributeValueMemberS{Value: "fraction"}, "event_id": &types.AttributeValueMemberS{Value: "x"}, "seq": &types.AttributeValueMemberN{Value: "1.5"}},
	}
	for _, it := range bad {
		if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(cfg.Table), Item: it}); err != nil {
			t.Fatalf("PutItem: %v", err)
		}
		s := it["session"].(*types.AttributeValueMemberS).Value
		for _, names := range [][]string{{s}, {s, "other"}} {
			_, err := b.Load(ctx, names)
			var e *lastdynamo.Error
			if !errors.As(err, &e) || e.Code != lastdynamo.CodeBadItem || core.IsRetryable(err) {
				t.Errorf("Load(%q) of a foreign item: got %v, want a permanent BadItem error", names, err)
			}
		}
	}
}

func TestLoadWithEndedContextFailsRetryably(t *testing.T) {
	_, b, _ := setup(t, lastdynamo.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, names := range [][]string{{"a"}, sessions("many", 250)} {
		got, err := b.Load(ctx, names)
		if got != nil || !errors.Is(err, context.Canceled) || !core.IsRetryable(err) {
			t.Errorf("Load of %d sessions with a cancelled context: got (%v, %v), want a retryable error wrapping context.Canceled", len(names), got, err)
		}
	}
}
