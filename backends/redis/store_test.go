package redis_test

import (
	"context"
	"errors"
	"math"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	lastredis "github.com/lastevent/lastevent/backends/redis"
	"github.com/lastevent/lastevent/backends/redis/redistest"
	"github.com/lastevent/lastevent/core"
)

// A written checkpoint is one hash holding exactly e, q, w and u; a
// checkpoint without a window removes w; the TTL is set by a write with
// TTL, left alone by a stale write, and removed by a write without TTL.
func TestStoreWritesOneHash(t *testing.T) {
	client := shared(t)
	ctx := ctxT(t)
	now := time.UnixMilli(1_700_000_000_123)
	cfg := lastredis.Config{Prefix: prefix(t), Now: func() time.Time { return now }}
	plain := newBackend(t, client, cfg)
	cfg.TTL = time.Hour
	expiring := newBackend(t, client, cfg)
	key := plain.Key("s")

	first := withWindow(cp("s", "e2", 2), "e1", "e2")
	mustStored(t, []core.Checkpoint{first}, store(ctx, plain, first))
	got, err := client.HGetAll(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"e": "e2", "q": "2", "w": string(first.Window), "u": "1700000000123"}
	if len(got) != len(want) {
		t.Fatalf("HGETALL %s: got %q, want %q", key, got, want)
	}
	for f, v := range want {
		if got[f] != v {
			t.Fatalf("HGETALL %s field %s: got %q, want %q", key, f, got[f], v)
		}
	}
	pttl := func() time.Duration {
		d, err := client.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if d := pttl(); d != -1 {
		t.Fatalf("PTTL after a write without TTL: got %v, want -1 (no expiry)", d)
	}

	second := cp("s", "e3", 3) // no window
	if r := store(ctx, expiring, second)[0]; r.Outcome != core.OutcomeWritten {
		t.Fatalf("Store(seq 3): got %v (%v), want written", r.Outcome, r.Err)
	}
	if ok, _ := client.HExists(ctx, key, lastredis.FieldWindow).Result(); ok {
		t.Fatal("field w after a checkpoint without a window: present, want absent")
	}
	if d := pttl(); d <= 0 || d > time.Hour {
		t.Fatalf("PTTL after a write with TTL 1h: got %v, want in (0, 1h]", d)
	}
	if r := store(ctx, plain, cp("s", "old", 1))[0]; r.Outcome != core.OutcomeStale {
		t.Fatalf("Store(seq 1): got %v (%v), want stale", r.Outcome, r.Err)
	}
	if d := pttl(); d <= 0 {
		t.Fatalf("PTTL after a stale write without TTL: got %v, want the expiry kept", d)
	}
	if r := store(ctx, plain, cp("s", "e4", 4))[0]; r.Outcome != core.OutcomeWritten {
		t.Fatalf("Store(seq 4): got %v (%v), want written", r.Outcome, r.Err)
	}
	if d := pttl(); d != -1 {
		t.Fatalf("PTTL after a write without TTL: got %v, want -1 (expiry removed)", d)
	}
}

// Seq is compared exactly over the whole uint64 range: by length (9 < 10,
// which a string comparison gets wrong) and past 2^53 (where Lua's doubles
// would call 2^53 and 2^53+1 equal).
func TestStoreComparesSeqExactly(t *testing.T) {
	client := shared(t)
	ctx := ctxT(t)
	b := newBackend(t, client, lastredis.Config{})
	const p53 = uint64(1) << 53
	kept := uint64(0)
	for _, st := range []struct {
		seq  uint64
		want core.Outcome
	}{
		{9, core.OutcomeWritten},
		{10, core.OutcomeWritten},
		{9, core.OutcomeStale},
		{99, core.OutcomeWritten},
		{100, core.OutcomeWritten},
		{p53 + 1, core.OutcomeWritten},
		{p53, core.OutcomeStale},
		{p53 + 2, core.OutcomeWritten},
		{p53 + 1, core.OutcomeStale},
		{math.MaxUint64 - 2, core.OutcomeWritten},
		{math.MaxUint64 - 3, core.OutcomeStale},
		{math.MaxUint64, core.OutcomeWritten},
		{math.MaxUint64, core.OutcomeStale},
		{math.MaxUint64 - 1, core.OutcomeStale},
		{1, core.OutcomeStale},
	} {
		in := cp("s", "e"+strconv.FormatUint(st.seq, 10), st.seq)
		r := store(ctx, b, in)[0]
		if r.Outcome != st.want || r.Err != nil {
			t.Fatalf("Store(seq %d) over seq %d: got %v (%v), want %v", st.seq, kept, r.Outcome, r.Err, st.want)
		}
		if r.Outcome == core.OutcomeWritten {
			kept = st.seq
		}
		got, err := b.Load(ctx, []string{"s"})
		if err != nil {
			t.Fatal(err)
		}
		if got["s"].Seq != kept {
			t.Fatalf("stored seq after Store(seq %d): got %d, want %d", st.seq, got["s"].Seq, kept)
		}
	}
}

// A batch is one pipeline: one round trip and one EVALSHA per checkpoint,
// whatever the batch size; a Load is one round trip of one HMGET per
// distinct session; invalid checkpoints and an ended context send nothing.
func TestRoundTrips(t *testing.T) {
	client := shared(t)
	ctx := ctxT(t)
	b := newBackend(t, client, lastredis.Config{})
	mustStored(t, nil, store(ctx, b, cp("warm", "1", 1))) // the shared server may need the script loaded
	base := b.Stats()

	names := sessions("s", 256)
	batch := make([]core.Checkpoint, len(names))
	for i, s := range names {
		batch[i] = withWindow(cp(s, "e"+strconv.Itoa(i), 5), "e"+strconv.Itoa(i))
	}
	mustStored(t, batch, store(ctx, b, batch...))
	got := b.Stats()
	if d := got.RoundTrips - base.RoundTrips; d != 1 {
		t.Errorf("round trips of a 256-checkpoint Store: got %d, want 1", d)
	}
	if d := got.EvalSha - base.EvalSha; d != 256 {
		t.Errorf("EVALSHA commands of a 256-checkpoint Store: got %d, want 256", d)
	}
	if d := got.Written - base.Written; d != 256 {
		t.Errorf("checkpoints written: got %d, want 256", d)
	}

	base = b.Stats()
	loaded, err := b.Load(ctx, append(names, names[0], "missing"))
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded) != 256 {
		t.Fatalf("Load of 256 stored sessions, a repeat and a missing one: got %d, want 256", len(loaded))
	}
	got = b.Stats()
	if d := got.RoundTrips - base.RoundTrips; d != 1 {
		t.Errorf("round trips of a Load of 257 sessions: got %d, want 1", d)
	}
	if d := got.HMGet - base.HMGet; d != 257 {
		t.Errorf("HMGET commands of a Load of 257 distinct sessions: got %d, want 257", d)
	}

	base = b.Stats()
	store(ctx, b, cp("", "x", 1), cp("zero", "x", 0))
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	store(cancelled, b, cp("c", "x", 1))
	if _, err := b.Load(cancelled, []string{"c"}); err == nil {
		t.Fatal("Load with a cancelled context: got nil error")
	}
	got = b.Stats()
	if got.RoundTrips != base.RoundTrips {
		t.Errorf("round trips of invalid checkpoints and cancelled calls: got %d, want 0", got.RoundTrips-base.RoundTrips)
	}
	if d := got.Failed - base.Failed; d != 3 {
		t.Errorf("failed checkpoints: got %d, want 3", d)
	}
	if d := got.PermanentErrors - base.PermanentErrors; d != 2 {
		t.Errorf("permanent errors: got %d, want 2 (the invalid checkpoints)", d)
	}
	if d := got.RetryableErrors - base.RetryableErrors; d != 2 {
		t.Errorf("retryable errors: got %d, want 2 (the cancelled Store item and Load)", d)
	}
}

// A key of another type fails its own checkpoint permanently with
// WRONGTYPE and leaves the key as it was; the other checkpoints of the same
// pipeline are written. A Load naming it reports it absent (it holds no
// checkpoint) and counts it, and loads the others.
func TestWrongTypeFailsOnlyItsSession(t *testing.T) {
	client := shared(t)
	ctx := ctxT(t)
	b := newBackend(t, client, lastredis.Config{})
	if err := client.Set(ctx, b.Key("bad"), "not a hash", 0).Err(); err != nil {
		t.Fatal(err)
	}
	batch := []core.Checkpoint{cp("good-1", "a", 1), cp("bad", "b", 7), cp("good-2", "c", 3)}
	res := store(ctx, b, batch...)
	for _, i := range []int{0, 2} {
		if res[i].Outcome != core.OutcomeWritten {
			t.Errorf("Store(%+v) beside a WRONGTYPE key: got %v (%v), want written", batch[i], res[i].Outcome, res[i].Err)
		}
	}
	if res[1].Outcome != core.OutcomeFailed {
		t.Fatalf("Store(%+v) on a string key: got %v, want failed", batch[1], res[1].Outcome)
	}
	checkError(t, "Store on a string key", res[1].Err, "EVALSHA", "bad", 7, "WRONGTYPE", false, isRedisReply)
	if v, err := client.Get(ctx, b.Key("bad")).Result(); err != nil || v != "not a hash" {
		t.Fatalf("string key after the failed Store: got (%q, %v), want it unchanged", v, err)
	}
	before := b.Stats().WrongType
	got, err := b.Load(ctx, []string{"good-1", "bad", "good-2"})
	if err != nil || len(got) != 2 || got["good-1"] != batch[0] || got["good-2"] != batch[2] {
		t.Fatalf("Load of the good sessions and a string key: got (%v, %v), want the two good ones as stored", got, err)
	}
	if d := b.Stats().WrongType - before; d != 1 {
		t.Fatalf("Stats.WrongType after a Load naming one string key: got +%d, want +1", d)
	}
}

// What only a foreign writer leaves: a hash without the event ID or Seq, a
// Seq that is not a canonical positive decimal, a torn window. Load refuses
// each with an error naming the session; the Store script refuses to
// compare with a bad Seq (BADSEQ) and changes nothing.
func TestForeignHashes(t *testing.T) {
	client := shared(t)
	ctx := ctxT(t)
	b := newBackend(t, client, lastredis.Config{})
	w := withWindow(cp("x", "e", 2), "d", "e").Window
	for _, tc := range []struct {
		name   string
		fields []any
		code   string
		store  string // the code a Store over it fails with; "" = written
	}{
		{"event-id-only", []any{"e", "x"}, lastredis.CodeBadItem, ""},
		{"seq-only", []any{"q", "3"}, lastredis.CodeBadItem, ""},
		{"seq-not-a-number", []any{"e", "x", "q", "abc"}, lastredis.CodeBadItem, lastredis.CodeBadSeq},
		{"seq-leading-zero", []any{"e", "x", "q", "007"}, lastredis.CodeBadItem, lastredis.CodeBadSeq},
		{"seq-zero", []any{"e", "x", "q", "0"}, lastredis.CodeBadItem, lastredis.CodeBadSeq},
		{"seq-over-uint64", []any{"e", "x", "q", "18446744073709551616"}, lastredis.CodeBadItem, lastredis.CodeBadSeq},
		{"seq-21-digits", []any{"e", "x", "q", "100000000000000000000"}, lastredis.CodeBadItem, lastredis.CodeBadSeq},
		{"torn-window", []any{"e", "e", "q", "2", "w", string(w[1:])}, lastredis.CodeInvalidWindow, ""},
		{"window-of-another-id", []any{"e", "other", "q", "2", "w", string(w)}, lastredis.CodeInvalidWindow, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := "foreign-" + tc.name
			if err := client.HSet(ctx, b.Key(s), tc.fields...).Err(); err != nil {
				t.Fatal(err)
			}
			_, err := b.Load(ctx, []string{"fine", s})
			checkError(t, "Load of "+tc.name, err, "HMGET", s, 0, tc.code, false, func(error) bool { return true })
			if tc.code == lastredis.CodeInvalidWindow && !errors.Is(err, core.ErrInvalidWindow) {
				t.Errorf("Load of %s: %v does not wrap core.ErrInvalidWindow", tc.name, err)
			}
			before, _ := client.HGetAll(ctx, b.Key(s)).Result()
			in := cp(s, "new", math.MaxUint64)
			r := store(ctx, b, in)[0]
			if tc.store == "" {
				if r.Outcome != core.OutcomeWritten {
					t.Fatalf("Store over %s: got %v (%v), want written", tc.name, r.Outcome, r.Err)
				}
				return
			}
			checkError(t, "Store over "+tc.name, r.Err, "EVALSHA", s, in.Seq, tc.store, false, isRedisReply)
			after, _ := client.HGetAll(ctx, b.Key(s)).Result()
			if len(after) != len(before) || after["q"] != before["q"] || after["e"] != before["e"] {
				t.Fatalf("hash after a refused Store: got %q, want unchanged %q", after, before)
			}
		})
	}
	// A hash holding none of the checkpoint's fields is no checkpoint.
	if err := client.HSet(ctx, b.Key("unrelated"), "other", "1").Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Load(ctx, []string{"unrelated"}); err != nil || len(got) != 0 {
		t.Fatalf("Load of a hash without e, q, w: got (%v, %v), want absent", got, err)
	}
}

// go-redis's Script.Run falls back from EVALSHA to EVAL only when it can
// see the reply, which a pipelined command does not have yet: in a
// pipeline, NOSCRIPT reaches the caller. This is why Store handles it
// itself.
func TestScriptRunDoesNotFallBackInAPipeline(t *testing.T) {
	srv := redistest.Start(t) // private: its script cache starts empty
	client := redistest.Client(t, srv.Addr)
	ctx := ctxT(t)
	script := goredis.NewScript("return 7")
	pipe := client.Pipeline()
	queued := script.Run(ctx, pipe, nil)
	_, _ = pipe.Exec(ctx)
	if err := queued.Err(); !goredis.HasErrorPrefix(err, "NOSCRIPT") {
		t.Fatalf("Script.Run in a pipeline on an empty script cache: got %v, want NOSCRIPT", err)
	}
	if v, err := script.Run(ctx, client, nil).Int(); err != nil || v != 7 {
		t.Fatalf("Script.Run on the client: got (%d, %v), want 7 (EVALSHA, then EVAL)", v, err)
	}
}

// NOSCRIPT in a pipeline: the server lost its scripts (a fresh server here,
// then SCRIPT FLUSH). The same Store loads the script and sends the refused
// items again: every item gets its true outcome, in three round trips, and
// the next Store is back to one.
func TestStoreReloadsTheScript(t *testing.T) {
	srv := redistest.Start(t)
	client := redistest.Client(t, srv.Addr)
	ctx := ctxT(t)
	b := newBackend(t, client, lastredis.Config{})
	check := func(what string, wantTrips, wantLoads uint64, batch []core.Checkpoint, want []core.Outcome) {
		t.Helper()
		base := b.Stats()
		res := store(ctx, b, batch...)
		for i, r := range res {
			if r.Outcome != want[i] {
				t.Errorf("%s: Store(%+v): got %v (%v), want %v", what, batch[i], r.Outcome, r.Err, want[i])
			}
		}
		got := b.Stats()
		if d := got.RoundTrips - base.RoundTrips; d != wantTrips {
			t.Errorf("%s: round trips: got %d, want %d", what, d, wantTrips)
		}
		if d := got.ScriptLoads - base.ScriptLoads; d != wantLoads {
			t.Errorf("%s: SCRIPT LOADs: got %d, want %d", what, d, wantLoads)
		}
	}
	W, S := core.OutcomeWritten, core.OutcomeStale
	check("first Store on a fresh server", 3, 1,
		[]core.Checkpoint{cp("a", "5", 5), cp("a", "7", 7), cp("b", "1", 1), cp("a", "3", 3)}, []core.Outcome{W, W, W, S})
	check("script cached", 1, 0, []core.Checkpoint{cp("a", "8", 8), cp("b", "1", 1)}, []core.Outcome{W, S})
	if err := client.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	check("after SCRIPT FLUSH", 3, 1, []core.Checkpoint{cp("a", "9", 9), cp("b", "0", 1), cp("c", "2", 2)}, []core.Outcome{W, S, W})
	check("script cached again", 1, 0, []core.Checkpoint{cp("c", "3", 3)}, []core.Outcome{W})
	got, err := b.Load(ctx, []string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	for s, want := range map[string]core.Checkpoint{"a": cp("a", "9", 9), "b": cp("b", "1", 1), "c": cp("c", "3", 3)} {
		if got[s] != want {
			t.Errorf("Load(%s): got %+v, want %+v", s, got[s], want)
		}
	}
}

// The memory one session costs in Redis, as docs/redis.md states it: a
// UUID session under the default prefix, a 26-byte event ID and the
// default window of 32 hashes (256 bytes). MEMORY USAGE counts the key, the
// hash and its fields. The window is past hash-max-listpack-value (64 by
// default), so the hash is a hashtable; raised to 512, the same hash stays
// a listpack and takes less. The bounds leave room for other Redis
// versions' allocators.
func TestMemoryUsagePerSession(t *testing.T) {
	srv := redistest.Start(t) // a private server: the default prefix, and CONFIG SET
	client := redistest.Client(t, srv.Addr)
	ctx := ctxT(t)
	b, err := lastredis.New(client, lastredis.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, core.DefaultPersistWindow)
	for i := range ids {
		ids[i] = "01HZX3K9Q2M4N6P8R0STVW" + strconv.Itoa(1000+i)
	}
	usage := func(session string) (int64, string) {
		t.Helper()
		c := withWindow(cp(session, ids[len(ids)-1], 48213), ids...)
		mustStored(t, []core.Checkpoint{c}, store(ctx, b, c))
		n, err := client.MemoryUsage(ctx, b.Key(session), 0).Result()
		if err != nil {
			t.Fatal(err)
		}
		enc, _ := client.ObjectEncoding(ctx, b.Key(session)).Result()
		t.Logf("MEMORY USAGE %s SAMPLES 0: %d bytes (%s)", b.Key(session), n, enc)
		return n, enc
	}
	n, enc := usage("c0a8e5b2-5d1f-4b8e-9a3c-7f2d1e6b4a90")
	if n > 1024 || enc != "hashtable" {
		t.Fatalf("MEMORY USAGE of one session with a %d-hash window: got %d bytes (%s), want at most 1024 (hashtable)", core.DefaultPersistWindow, n, enc)
	}
	if err := client.ConfigSet(ctx, "hash-max-listpack-value", "512").Err(); err != nil {
		t.Fatal(err)
	}
	small, enc := usage("d1b9f6c3-6e2a-4c9f-8b4d-8a3e2f7c5ba1")
	if small >= n || enc != "listpack" {
		t.Fatalf("MEMORY USAGE with hash-max-listpack-value 512: got %d bytes (%s), want less than %d (listpack)", small, enc, n)
	}
}
