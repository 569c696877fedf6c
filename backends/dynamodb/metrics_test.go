package dynamodb_test

import (
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	lastdynamo "github.com/lastevent/lastevent/backends/dynamodb"
	"github.com/lastevent/lastevent/internal/promtext"
)

// readSet returns every sample of set by its full name with labels.
func readSet(t *testing.T, set *metrics.Set) map[string]float64 {
	t.Helper()
	samples, err := promtext.Samples(set)
	if err != nil {
		t.Fatal(err)
	}
	return samples
}

func TestMetricsCountEveryCall(t *testing.T) {
	client := newClient(t)
	set := metrics.NewSet()
	cfg := newTable(t, client, lastdynamo.Config{Metrics: set, RetryBaseDelay: time.Millisecond, RetryMaxDelay: 2 * time.Millisecond})
	ctx := ctxT(t)
	b := newBackend(t, client, cfg)
	mustStored(t, nil, store(ctx, b, cp("a", "1", 1), cp("b", "1", 1), cp("c", "1", 1))) // 3 ok
	store(ctx, b, cp("a", "0", 1))                                                       // 1 stale
	if _, err := b.Load(ctx, []string{"a"}); err != nil {                                // 1 GetItem
		t.Fatal(err)
	}
	if _, err := b.Load(ctx, []string{"a", "b", "zz"}); err != nil { // 1 BatchGetItem
		t.Fatal(err)
	}
	if err := b.Delete(ctx, "c"); err != nil { // 1 DeleteItem
		t.Fatal(err)
	}
	_ = b.Close()

	// Throttled calls: counted as errors and throttles, on a second
	// Backend sharing the Set would register the same names twice, so the
	// failures go through a Backend with its own table name on the same set.
	fcfg := cfg
	fcfg.Table = cfg.Table + "-f"
	throttle := &failClient{API: client, make: errorCases()[0].make}
	fb := newBackend(t, throttle, fcfg)
	store(ctx, fb, cp("x", "1", 1), cp("y", "1", 1)) // 2 errors, 2 throttles

	// Unprocessed items and keys on a third table label.
	dcfg := cfg
	dcfg.Table, dcfg.Mode = cfg.Table+"-d", lastdynamo.Batch
	dcfg = newTable(t, client, dcfg)
	d := &dropClient{API: client, table: dcfg.Table}
	db := newBackend(t, d, dcfg)
	mustStored(t, nil, store(ctx, db, cp("p", "1", 1), cp("q", "1", 1), cp("r", "1", 1), cp("s", "1", 1))) // 4: 2+1+1 dropped, 3 calls
	if _, err := db.Load(ctx, []string{"p", "q", "r", "s"}); err != nil {                                  // 4 keys: 2+1 dropped, 3 calls
		t.Fatal(err)
	}

	got := readSet(t, set)
	l := func(table, rest string) string { return `{table="` + table + `",` + rest + `}` }
	want := map[string]float64{
		"lastevent_dynamodb_calls_total" + l(cfg.Table, `op="UpdateItem",outcome="ok"`):       3,
		"lastevent_dynamodb_calls_total" + l(cfg.Table, `op="UpdateItem",outcome="stale"`):    1,
		"lastevent_dynamodb_calls_total" + l(cfg.Table, `op="UpdateItem",outcome="error"`):    0,
		"lastevent_dynamodb_calls_total" + l(cfg.Table, `op="GetItem",outcome="ok"`):          1,
		"lastevent_dynamodb_calls_total" + l(cfg.Table, `op="BatchGetItem",outcome="ok"`):     1,
		"lastevent_dynamodb_calls_total" + l(cfg.Table, `op="DeleteItem",outcome="ok"`):       1,
		"lastevent_dynamodb_calls_total" + l(fcfg.Table, `op="UpdateItem",outcome="error"`):   2,
		"lastevent_dynamodb_throttles_total" + l(fcfg.Table, `op="UpdateItem"`):               2,
		"lastevent_dynamodb_throttles_total" + l(cfg.Table, `op="UpdateItem"`):                0,
		"lastevent_dynamodb_calls_total" + l(dcfg.Table, `op="BatchWriteItem",outcome="ok"`):  3,
		"lastevent_dynamodb_calls_total" + l(dcfg.Table, `op="BatchGetItem",outcome="ok"`):    3,
		`lastevent_dynamodb_unprocessed_items_total{table="` + dcfg.Table + `"}`:              3,
		`lastevent_dynamodb_unprocessed_keys_total{table="` + dcfg.Table + `"}`:               3,
		`lastevent_dynamodb_unprocessed_items_total{table="` + cfg.Table + `"}`:               0,
		"lastevent_dynamodb_consumed_capacity_units_total" + l(fcfg.Table, `op="UpdateItem"`): 0,
	}
	for name, v := range want {
		if g, ok := got[name]; !ok || g != v {
			t.Errorf("%s: got %v (present %v), want %v", name, g, ok, v)
		}
	}
	// DynamoDB charges a write unit per KB of item written and a read unit
	// per 4 KB read consistently, rounded up per item; dynalite computes
	// the same.
	for name, min := range map[string]float64{
		"lastevent_dynamodb_consumed_capacity_units_total" + l(cfg.Table, `op="UpdateItem"`):      3,
		"lastevent_dynamodb_consumed_capacity_units_total" + l(cfg.Table, `op="BatchGetItem"`):    1,
		"lastevent_dynamodb_consumed_capacity_units_total" + l(dcfg.Table, `op="BatchWriteItem"`): 4,
		"lastevent_dynamodb_consumed_capacity_units_total" + l(dcfg.Table, `op="BatchGetItem"`):   2,
	} {
		if got[name] < min {
			t.Errorf("%s: got %v, want at least %v", name, got[name], min)
		}
	}
	if t.Failed() {
		t.Logf("all samples: %v", got)
	}
}
