package redis_test

import (
	"testing"

	"github.com/VictoriaMetrics/metrics"

	lastredis "github.com/lastevent/lastevent/backends/redis"
	"github.com/lastevent/lastevent/backends/redis/redistest"
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

// The counters Config.Metrics receives, on a private server so the script
// load of a fresh cache is counted too; Stats reads the same counters.
func TestMetricsCountEveryCall(t *testing.T) {
	srv := redistest.Start(t)
	client := redistest.Client(t, srv.Addr)
	ctx := ctxT(t)
	set := metrics.NewSet()
	pfx := `le:"quoted"\back:` // label values are escaped
	b := newBackend(t, client, lastredis.Config{Prefix: pfx, Metrics: set})
	mustStored(t, nil, store(ctx, b, cp("a", "1", 1), cp("b", "1", 1))) // NOSCRIPT: 3 round trips, 4 EVALSHA, 1 SCRIPT LOAD
	store(ctx, b, cp("a", "0", 1), cp("", "x", 1))                      // 1 round trip: 1 stale, 1 invalid
	if err := client.Set(ctx, b.Key("str"), "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
	store(ctx, b, cp("str", "1", 1))                                        // 1 round trip: WRONGTYPE
	if _, err := b.Load(ctx, []string{"a", "b", "str", "zz"}); err != nil { // 1 round trip, 4 HMGET, 1 wrong type
		t.Fatal(err)
	}
	if err := b.Delete(ctx, "a"); err != nil { // 1 round trip
		t.Fatal(err)
	}

	got := readSet(t, set)
	l := func(rest string) string {
		p := `prefix="le:\"quoted\"\\back:"`
		if rest == "" {
			return "{" + p + "}"
		}
		return "{" + p + "," + rest + "}"
	}
	want := map[string]float64{
		"lastevent_redis_round_trips_total" + l(""):                  7,
		"lastevent_redis_commands_total" + l(`cmd="EVALSHA"`):        6,
		"lastevent_redis_commands_total" + l(`cmd="SCRIPT LOAD"`):    1,
		"lastevent_redis_commands_total" + l(`cmd="HMGET"`):          4,
		"lastevent_redis_commands_total" + l(`cmd="DEL"`):            1,
		"lastevent_redis_checkpoints_total" + l(`outcome="written"`): 2,
		"lastevent_redis_checkpoints_total" + l(`outcome="stale"`):   1,
		"lastevent_redis_checkpoints_total" + l(`outcome="failed"`):  2,
		"lastevent_redis_store_calls_total" + l(""):                  3,
		"lastevent_redis_load_calls_total" + l(""):                   1,
		"lastevent_redis_wrong_type_keys_total" + l(""):              1,
		"lastevent_redis_errors_total" + l(`class="retryable"`):      0,
		"lastevent_redis_errors_total" + l(`class="permanent"`):      2,
	}
	for name, v := range want {
		if g, ok := got[name]; !ok || g != v {
			t.Errorf("%s: got %v (present %v), want %v", name, g, ok, v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("metrics: got %d series, want %d: %v", len(got), len(want), got)
	}
	st := b.Stats()
	wantStats := lastredis.Stats{RoundTrips: 7, EvalSha: 6, ScriptLoads: 1, HMGet: 4, Del: 1, StoreCalls: 3, LoadCalls: 1,
		WrongType: 1, Written: 2, Stale: 1, Failed: 2, PermanentErrors: 2}
	if st != wantStats {
		t.Errorf("Stats: got %+v, want %+v", st, wantStats)
	}
	if st.Commands() != 12 {
		t.Errorf("Stats.Commands: got %d, want 12", st.Commands())
	}
}
