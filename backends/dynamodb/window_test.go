package dynamodb_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/cespare/xxhash/v2"

	lastdynamo "github.com/lastevent/lastevent/backends/dynamodb"
	"github.com/lastevent/lastevent/core"
)

// windowed returns cp(session, id, seq) with a window of n hashes (n <=
// seq): n-1 derived from salt, then id's, as CheckWindow requires.
func windowed(session, id string, seq uint64, n int, salt uint64) core.Checkpoint {
	c := cp(session, id, seq)
	if n == 0 {
		return c
	}
	hs := make([]uint64, 0, n)
	for i := range n - 1 {
		// Distinct, and never id's hash: multiplying by an odd constant is
		// a bijection, and the factor is never 0.
		hs = append(hs, xxhash.Sum64String(id)^(salt<<32|uint64(i+1))*0x9e3779b97f4a7c15)
	}
	c.Window = core.EncodeWindow(append(hs, xxhash.Sum64String(id)))
	if err := c.CheckWindow(); err != nil {
		panic(err)
	}
	return c
}

// rawWindow returns the stored window attribute of session as bytes, and
// whether the item has one; it fails the test if the attribute is not B.
func rawWindow(t *testing.T, client *dynamodb.Client, table, attr, session string) ([]byte, bool) {
	t.Helper()
	it := rawItem(t, client, table, session)
	if it == nil {
		t.Fatalf("item %q: missing", session)
	}
	switch w := it[attr].(type) {
	case nil:
		return nil, false
	case *types.AttributeValueMemberB:
		return w.Value, true
	default:
		t.Fatalf("item %q attribute %q: got %#v, want B", session, attr, it[attr])
		return nil, false
	}
}

// In both modes the window is one attribute of type B holding the Window's
// bytes (256 for the tracker's default 32 hashes) beside the others, a
// newer checkpoint without a window leaves none, and Load returns what is
// stored. With TTL the expiry is written whether or not there is a window.
func TestWindowAttribute(t *testing.T) {
	now := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
	for _, mode := range []lastdynamo.Mode{lastdynamo.Conditional, lastdynamo.Batch} {
		t.Run(mode.String(), func(t *testing.T) {
			client, b, cfg := setup(t, lastdynamo.Config{Mode: mode, TTL: time.Hour, Now: func() time.Time { return now }})
			ctx := ctxT(t)
			expires := strconv.FormatInt(now.Add(time.Hour).Unix(), 10)
			steps := []struct {
				c     core.Checkpoint
				attrs int // session, event_id, seq, updated_at, expires_at[, w]
			}{
				{windowed("s", "e40", 40, core.DefaultPersistWindow, 1), 6},
				{cp("s", "e41", 41), 5},
				{windowed("s", "e42", 42, 3, 2), 6},
			}
			for _, st := range steps {
				mustStored(t, []core.Checkpoint{st.c}, store(ctx, b, st.c))
				it := rawItem(t, client, cfg.Table, "s")
				if len(it) != st.attrs {
					t.Errorf("after seq %d: item has %d attributes (%v), want %d", st.c.Seq, len(it), it, st.attrs)
				}
				if x, ok := it["expires_at"].(*types.AttributeValueMemberN); !ok || x.Value != expires {
					t.Errorf("after seq %d: expires_at: got %#v, want N %s", st.c.Seq, it["expires_at"], expires)
				}
				w, ok := rawWindow(t, client, cfg.Table, "w", "s")
				if string(w) != string(st.c.Window) || ok != (st.c.Window != "") {
					t.Errorf("after seq %d: stored w: got %d bytes (present %v), want %d bytes %v", st.c.Seq, len(w), ok, len(st.c.Window), st.c.Window)
				}
				got, err := b.Load(ctx, []string{"s"})
				if err != nil || got["s"] != st.c {
					t.Errorf("after seq %d: Load: got (%v, %v), want %v", st.c.Seq, got["s"], err, st.c)
				}
			}
			if got := len(steps[0].c.Window); got != 256 {
				t.Fatalf("default window: %d bytes, want 256", got)
			}
		})
	}
}

// A stale conditional write leaves the stored window, including one
// without a window: REMOVE is under the same condition as SET.
func TestConditionalStaleKeepsWindow(t *testing.T) {
	client, b, cfg := setup(t, lastdynamo.Config{})
	ctx := ctxT(t)
	kept := windowed("s", "e9", 9, 5, 1)
	mustStored(t, nil, store(ctx, b, kept))
	for _, stale := range []core.Checkpoint{windowed("s", "e8", 8, 4, 2), cp("s", "e7", 7), cp("s", "e9", 9), windowed("s", "e9", 9, 2, 3)} {
		if r := store(ctx, b, stale)[0]; r.Outcome != core.OutcomeStale {
			t.Errorf("Store(seq %d, %d hashes) after seq 9: got %v (%v), want stale", stale.Seq, stale.Window.Len(), r.Outcome, r.Err)
		}
		if got, _ := rawCheckpoint(t, client, cfg.Table, "s"); got != kept {
			t.Fatalf("stored after a stale Store(seq %d, window %v): got %v, want %v", stale.Seq, stale.Window, got, kept)
		}
	}
}

// Config.WindowAttribute renames the attribute; reads and both kinds of
// write use the configured name only.
func TestWindowAttributeRenamed(t *testing.T) {
	for _, mode := range []lastdynamo.Mode{lastdynamo.Conditional, lastdynamo.Batch} {
		t.Run(mode.String(), func(t *testing.T) {
			client, b, cfg := setup(t, lastdynamo.Config{Mode: mode, WindowAttribute: "recent_ids"})
			ctx := ctxT(t)
			c := windowed("s", "e5", 5, 5, 1)
			mustStored(t, nil, store(ctx, b, c))
			if w, ok := rawWindow(t, client, cfg.Table, "recent_ids", "s"); !ok || string(w) != string(c.Window) {
				t.Fatalf("recent_ids: got %d bytes (present %v), want %d", len(w), ok, len(c.Window))
			}
			if _, ok := rawItem(t, client, cfg.Table, "s")["w"]; ok {
				t.Fatal("item has attribute w beside the configured recent_ids")
			}
			for _, names := range [][]string{{"s"}, {"s", "absent"}} {
				if got, err := b.Load(ctx, names); err != nil || got["s"] != c {
					t.Errorf("Load(%q): got (%v, %v), want %v", names, got["s"], err, c)
				}
			}
			mustStored(t, nil, store(ctx, b, cp("s", "e6", 6)))
			if _, ok := rawWindow(t, client, cfg.Table, "recent_ids", "s"); ok {
				t.Fatal("recent_ids present after a checkpoint without a window")
			}
		})
	}
}

// A window of core.MaxWindow hashes (256 KiB) fits an item with a session
// and event ID at their limits, in both modes, and comes back whole by
// GetItem and BatchGetItem.
func TestWindowAtMaxWindow(t *testing.T) {
	for _, mode := range []lastdynamo.Mode{lastdynamo.Conditional, lastdynamo.Batch} {
		t.Run(mode.String(), func(t *testing.T) {
			_, b, _ := setup(t, lastdynamo.Config{Mode: mode})
			ctx := ctxT(t)
			s := strings.Repeat("s", core.MaxSessionBytes)
			c := windowed(s, strings.Repeat("e", core.DefaultMaxEventIDBytes), core.MaxWindow, core.MaxWindow, 1)
			mustStored(t, nil, store(ctx, b, c))
			for _, names := range [][]string{{s}, {s, "absent"}} {
				got, err := b.Load(ctx, names)
				if err != nil || got[s] != c {
					t.Errorf("Load of %d sessions: got %d-byte window (%v), want %d bytes", len(names), len(got[s].Window), err, len(c.Window))
				}
			}
		})
	}
}

// Store refuses a checkpoint whose window fails CheckWindow before any
// request: a permanent InvalidCheckpoint error wrapping
// core.ErrInvalidWindow, naming session and seq, and nothing written.
func TestStoreRejectsInvalidWindow(t *testing.T) {
	for _, mode := range []lastdynamo.Mode{lastdynamo.Conditional, lastdynamo.Batch} {
		t.Run(mode.String(), func(t *testing.T) {
			client, b, cfg := setup(t, lastdynamo.Config{Mode: mode})
			ctx := ctxT(t)
			torn := windowed("torn", "t", 5, 3, 1)
			torn.Window = torn.Window[1:]
			mismatch := windowed("mismatch", "m", 5, 3, 1)
			mismatch.EventID = "other"
			for _, c := range []core.Checkpoint{torn, mismatch} {
				r := store(ctx, b, c)[0]
				var e *lastdynamo.Error
				if r.Outcome != core.OutcomeFailed || !errors.As(r.Err, &e) || e.Code != lastdynamo.CodeInvalidCheckpoint ||
					e.Session != c.Session || e.Seq != c.Seq || !errors.Is(r.Err, core.ErrInvalidWindow) || core.IsRetryable(r.Err) {
					t.Errorf("Store(%s with a bad window): got %v (%v), want a permanent InvalidCheckpoint failure wrapping ErrInvalidWindow", c.Session, r.Outcome, r.Err)
				}
				if it := rawItem(t, client, cfg.Table, c.Session); it != nil {
					t.Errorf("Store(%s with a bad window) wrote %v", c.Session, it)
				}
			}
		})
	}
}

// An item whose window attribute another writer got wrong fails the Load,
// by GetItem and by BatchGetItem, with a permanent BadItem error wrapping
// core.ErrInvalidWindow and naming the session, never a panic and never the
// checkpoint without its window. An empty B is the empty window.
func TestLoadRejectsMalformedWindow(t *testing.T) {
	client, b, cfg := setup(t, lastdynamo.Config{})
	ctx := ctxT(t)
	good := windowed("good", "g", 2, 2, 1)
	mustStored(t, nil, store(ctx, b, good))
	valid := []byte(windowed("x", "e", 5, 3, 1).Window) // for event "e", seq 5
	item := func(session string, seq string, w types.AttributeValue) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{
			"session":  &types.AttributeValueMemberS{Value: session},
			"event_id": &types.AttributeValueMemberS{Value: "e"},
			"seq":      &types.AttributeValueMemberN{Value: seq},
			"w":        w,
		}
	}
	for _, tc := range []struct {
		name string
		seq  string
		w    types.AttributeValue
	}{
		{"string", "5", &types.AttributeValueMemberS{Value: string(valid)}},
		{"number", "5", &types.AttributeValueMemberN{Value: "42"}},
		{"binary-set", "5", &types.AttributeValueMemberBS{Value: [][]byte{valid}}},
		{"null", "5", &types.AttributeValueMemberNULL{Value: true}},
		{"torn", "5", &types.AttributeValueMemberB{Value: valid[:len(valid)-1]}},
		{"one-byte", "5", &types.AttributeValueMemberB{Value: []byte{7}}},
		{"repeated", "5", &types.AttributeValueMemberB{Value: append(append([]byte(nil), valid[8:16]...), valid[8:]...)}},
		{"not-newest", "5", &types.AttributeValueMemberB{Value: valid[:16]}},
		{"more-than-seq", "2", &types.AttributeValueMemberB{Value: valid}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := "bad-" + tc.name
			if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(cfg.Table), Item: item(s, tc.seq, tc.w)}); err != nil {
				t.Fatalf("PutItem: %v", err)
			}
			for _, names := range [][]string{{s}, {s, "good"}} {
				got, err := b.Load(ctx, names)
				var e *lastdynamo.Error
				if !errors.As(err, &e) || e.Code != lastdynamo.CodeBadItem || core.IsRetryable(err) ||
					!errors.Is(err, core.ErrPermanent) || !errors.Is(err, core.ErrInvalidWindow) || !strings.Contains(err.Error(), strconv.Quote(s)) {
					t.Errorf("Load(%q): got (%v, %v), want a permanent BadItem error wrapping ErrInvalidWindow naming %q", names, got, err, s)
				}
			}
		})
	}
	t.Run("empty-binary", func(t *testing.T) {
		_, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(cfg.Table), Item: item("empty", "5", &types.AttributeValueMemberB{Value: []byte{}})})
		if err != nil {
			t.Skipf("PutItem of an empty B refused by this server: %v", err)
		}
		for _, names := range [][]string{{"empty"}, {"empty", "good"}} {
			if got, err := b.Load(ctx, names); err != nil || got["empty"] != cp("empty", "e", 5) {
				t.Errorf("Load(%q) of an empty window attribute: got (%v, %v), want seq 5 without a window", names, got["empty"], err)
			}
		}
	})
	if got, err := b.Load(ctx, []string{"good"}); err != nil || got["good"] != good {
		t.Fatalf("Load(good) beside bad items: got (%v, %v), want %v", got["good"], err, good)
	}
}
