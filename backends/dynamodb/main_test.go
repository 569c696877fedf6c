package dynamodb_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"go.uber.org/goleak"

	lastdynamo "github.com/lastevent/lastevent/backends/dynamodb"
	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/internal/dynalite"
)

// transport is shared by every test client so TestMain can close its idle
// keep-alive connections (and their goroutines) before checking for leaks.
var transport = http.DefaultTransport.(*http.Transport).Clone()

func TestMain(m *testing.M) {
	code := m.Run()
	transport.CloseIdleConnections()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: errors on successful test run: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// endpoint returns the DynamoDB endpoint, skipping the test when none is
// configured, or failing it under CI, where a skip would hide the suite.
func endpoint(t testing.TB) string { return dynalite.Require(t) }

// newClient returns a real SDK client for the test server with dummy
// credentials. opts adjust its options (retryer, HTTP client, endpoint).
func newClient(t testing.TB, opts ...func(*dynamodb.Options)) *dynamodb.Client {
	return dynalite.Client(endpoint(t), &http.Client{Transport: transport, Timeout: 30 * time.Second}, opts...)
}

var tableSeq atomic.Uint64

var unsafeTableChars = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// tableName returns a table name no other test uses, derived from the
// test's name.
func tableName(t testing.TB) string {
	name := unsafeTableChars.ReplaceAllString(t.Name(), "-")
	if len(name) > 200 {
		name = name[:200]
	}
	return fmt.Sprintf("le-%s-%d-%d", name, os.Getpid(), tableSeq.Add(1))
}

// newTable creates a fresh table for cfg (filling in cfg.Table) and deletes
// it when the test ends.
func newTable(t testing.TB, client *dynamodb.Client, cfg lastdynamo.Config) lastdynamo.Config {
	t.Helper()
	if cfg.Table == "" {
		cfg.Table = tableName(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := lastdynamo.CreateTable(ctx, client, cfg); err != nil {
		t.Fatalf("CreateTable(%q): %v", cfg.Table, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(cfg.Table)}); err != nil {
			t.Errorf("DeleteTable(%q): %v", cfg.Table, err)
		}
	})
	return cfg
}

// newBackend returns a Backend on api closed when the test ends.
func newBackend(t testing.TB, api lastdynamo.API, cfg lastdynamo.Config) *lastdynamo.Backend {
	t.Helper()
	b, err := lastdynamo.New(api, cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// setup is the common start of a test: a client, a fresh table and a
// Backend on it with cfg.
func setup(t testing.TB, cfg lastdynamo.Config) (*dynamodb.Client, *lastdynamo.Backend, lastdynamo.Config) {
	t.Helper()
	client := newClient(t)
	cfg = newTable(t, client, cfg)
	return client, newBackend(t, client, cfg), cfg
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func cp(session, id string, seq uint64) core.Checkpoint {
	return core.Checkpoint{Session: session, EventID: id, Seq: seq}
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
			t.Fatalf("Store(%+v): got %v (%v), want stored", batch[i], r.Outcome, r.Err)
		}
	}
}

// rawItem reads a session's item straight from the table with the SDK,
// bypassing the Backend under test, with a consistent read.
func rawItem(t testing.TB, client *dynamodb.Client, table, session string) map[string]types.AttributeValue {
	t.Helper()
	out, err := client.GetItem(ctxT(t), &dynamodb.GetItemInput{
		TableName:      aws.String(table),
		Key:            map[string]types.AttributeValue{"session": &types.AttributeValueMemberS{Value: session}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("GetItem(%q): %v", session, err)
	}
	return out.Item
}

// putRaw writes c as one item with cfg's attribute names and a plain
// PutItem, bypassing the Backend and its checks: the window is stored as
// its bytes (type B) whatever they are, and left out when empty.
func putRaw(t testing.TB, client *dynamodb.Client, cfg lastdynamo.Config, c core.Checkpoint) {
	t.Helper()
	it := map[string]types.AttributeValue{
		cfg.SessionAttribute: &types.AttributeValueMemberS{Value: c.Session},
		cfg.EventIDAttribute: &types.AttributeValueMemberS{Value: c.EventID},
		cfg.SeqAttribute:     &types.AttributeValueMemberN{Value: strconv.FormatUint(c.Seq, 10)},
	}
	if c.Window != "" {
		it[cfg.WindowAttribute] = &types.AttributeValueMemberB{Value: []byte(c.Window)}
	}
	if _, err := client.PutItem(ctxT(t), &dynamodb.PutItemInput{TableName: aws.String(cfg.Table), Item: it}); err != nil {
		t.Fatalf("PutItem(%q): %v", c.Session, err)
	}
}

// rawCheckpoint decodes rawItem with the default attribute names; ok is
// false when the session has no item.
func rawCheckpoint(t testing.TB, client *dynamodb.Client, table, session string) (core.Checkpoint, bool) {
	t.Helper()
	it := rawItem(t, client, table, session)
	if it == nil {
		return core.Checkpoint{}, false
	}
	return decodeRaw(t, it), true
}

func decodeRaw(t testing.TB, it map[string]types.AttributeValue) core.Checkpoint {
	t.Helper()
	s, ok1 := it["session"].(*types.AttributeValueMemberS)
	e, ok2 := it["event_id"].(*types.AttributeValueMemberS)
	q, ok3 := it["seq"].(*types.AttributeValueMemberN)
	if !ok1 || !ok2 || !ok3 {
		t.Fatalf("stored item %v: want session S, event_id S, seq N", it)
	}
	var seq uint64
	if _, err := fmt.Sscan(q.Value, &seq); err != nil {
		t.Fatalf("stored seq %q: %v", q.Value, err)
	}
	c := cp(s.Value, e.Value, seq)
	switch w := it["w"].(type) {
	case nil:
	case *types.AttributeValueMemberB:
		c.Window = core.Window(w.Value) // as stored, unchecked
	default:
		t.Fatalf("stored item %v: want w B or absent", it)
	}
	return c
}

// scanTable reads every item of the table with consistent reads.
func scanTable(t testing.TB, client *dynamodb.Client, table string) map[string]core.Checkpoint {
	t.Helper()
	out := map[string]core.Checkpoint{}
	var start map[string]types.AttributeValue
	for {
		page, err := client.Scan(ctxT(t), &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true), ExclusiveStartKey: start})
		if err != nil {
			t.Fatalf("Scan(%q): %v", table, err)
		}
		for _, it := range page.Items {
			c := decodeRaw(t, it)
			out[c.Session] = c
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out
		}
		start = page.LastEvaluatedKey
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
