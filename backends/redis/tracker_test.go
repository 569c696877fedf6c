package redis_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lastevent/lastevent/backends/fault"
	lastredis "github.com/lastevent/lastevent/backends/redis"
	"github.com/lastevent/lastevent/backends/redis/redistest"
	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/shard"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// recorder collects what a tracker reports through its hooks.
type recorder struct {
	mu       sync.Mutex
	failures []shard.WriteFailure
	opened   chan struct{} // one value per breaker opening, dropped when full
}

func newRecorder() *recorder { return &recorder{opened: make(chan struct{}, 1)} }

func (r *recorder) onError(w shard.WriteFailure) {
	r.mu.Lock()
	r.failures = append(r.failures, w)
	r.mu.Unlock()
}

func (r *recorder) onBreaker(c shard.BreakerChange) {
	if c.To == "open" {
		select {
		case r.opened <- struct{}{}:
		default:
		}
	}
}

func (r *recorder) get() []shard.WriteFailure {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]shard.WriteFailure(nil), r.failures...)
}

// newTracker returns a tracker on b with the short timings a fault test
// needs (recovery within milliseconds, not the production seconds), its
// failures and breaker changes going to rec, closed when the test ends.
func newTracker(t testing.TB, b core.Backend, rec *recorder) *shard.Tracker {
	t.Helper()
	tr, err := shard.New(b, shard.Config{
		Shards:              4,
		FlushInterval:       5 * time.Millisecond,
		RetryBaseDelay:      time.Millisecond,
		RetryMaxDelay:       20 * time.Millisecond,
		BreakerThreshold:    2,
		BreakerResetTimeout: 20 * time.Millisecond,
		StoreTimeout:        2 * time.Second,
		OnError:             rec.onError,
		OnBreakerChange:     rec.onBreaker,
		Logger:              quiet,
	})
	if err != nil {
		t.Fatalf("shard.New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = tr.Close(ctx)
	})
	return tr
}

// load observes events on sessions from a goroutine of its own, one new ID
// per session per pass, until stop is closed. Each pass waits a
// millisecond so the load leaves the machine's two cores to the tracker
// and the server.
type load struct {
	stop chan struct{}
	done chan error
}

// The first pass runs before startLoad returns, so every session exists.
func startLoad(t testing.TB, tr *shard.Tracker, sessions []string) *load {
	t.Helper()
	for _, s := range sessions {
		if ok, err := tr.Observe(s, "id-0"); err != nil || !ok {
			t.Fatalf("Observe(%s, id-0): got (%v, %v), want accepted", s, ok, err)
		}
	}
	l := &load{stop: make(chan struct{}), done: make(chan error, 1)}
	go func() {
		for n := 1; ; n++ {
			for _, s := range sessions {
				if ok, err := tr.Observe(s, "id-"+strconv.Itoa(n)); err != nil || !ok {
					l.done <- errors.Join(err, errors.New("Observe of a new ID not accepted"))
					return
				}
			}
			pause := time.NewTimer(time.Millisecond)
			select {
			case <-l.stop:
				pause.Stop()
				l.done <- nil
				return
			case <-pause.C:
			}
		}
	}()
	return l
}

// end stops the load and returns its error.
func (l *load) end() error {
	close(l.stop)
	return <-l.done
}

// checkpoints returns each session's newest accepted checkpoint.
func checkpoints(t testing.TB, tr *shard.Tracker, names []string) map[string]core.Checkpoint {
	t.Helper()
	m := make(map[string]core.Checkpoint, len(names))
	for _, s := range names {
		c, ok := tr.Checkpoint(s)
		if !ok {
			t.Fatalf("Checkpoint(%s): not in the tracker", s)
		}
		m[s] = c
	}
	return m
}

// redis-server is killed (SIGKILL) in the middle of a load and restarted
// on its directory with appendfsync always. While it is down, every write
// fails retryably, the breakers open, and Flush does not
// claim what is not stored; after the restart, the retries resume and a
// Flush succeeds. Nothing a Flush reported durable before the kill is
// lost, and no checkpoint the backend reported written ever moves back
// (fault.Checker sees every Store and Load).
func TestRedisServerKilledMidLoad(t *testing.T) {
	srv := redistest.Start(t, "--appendonly", "yes", "--appendfsync", "always")
	client := redistest.Client(t, srv.Addr, func(o *goredis.Options) {
		o.DialTimeout = 200 * time.Millisecond
		o.MaxRetries = -1 // the tracker retries; each attempt is one try
	})
	b := newBackend(t, client, lastredis.Config{})
	chk := fault.NewChecker(b)
	rec := newRecorder()
	tr := newTracker(t, chk, rec)
	names := sessions("killed", 40)
	ctx := ctxT(t)

	l := startLoad(t, tr, names)
	var durable map[string]core.Checkpoint // covered by a Flush that returned nil
	for range 3 {
		covered := checkpoints(t, tr, names)
		if err := tr.Flush(ctx); err != nil {
			t.Fatalf("Flush before the kill: %v", err)
		}
		durable = covered
	}
	srv.Kill(t)

	// Down: the load goes on, writes fail, a breaker opens.
	select {
	case <-rec.opened:
	case <-ctx.Done():
		t.Fatal("no breaker opened while redis-server was down")
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	err := tr.Flush(short)
	cancel()
	if !errors.Is(err, shard.ErrUnflushed) {
		t.Fatalf("Flush while redis-server is down: got %v, want ErrUnflushed", err)
	}

	srv.Restart(t)
	// Every checkpoint reported written before the kill is there: the
	// Checker flags a Load returning less as a regression.
	got, err := chk.Load(ctx, names)
	if err != nil {
		t.Fatalf("Load after the restart: %v", err)
	}
	for _, s := range names {
		if got[s].Seq < durable[s].Seq {
			t.Errorf("%s after the restart: stored seq %d, want at least %d (flushed before the kill)", s, got[s].Seq, durable[s].Seq)
		}
	}
	if err := l.end(); err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := tr.Flush(ctx); err != nil {
		t.Fatalf("Flush after the restart: %v", err)
	}
	if err := chk.Verify(ctx, checkpoints(t, tr, names)); err != nil {
		t.Fatalf("after the restart: %v", err)
	}

	st := tr.Stats()
	if st.BreakerOpens == 0 || st.WriteFailures[0] == 0 {
		t.Errorf("tracker stats: %d breaker openings, %d retryable write failures, want both > 0", st.BreakerOpens, st.WriteFailures[0])
	}
	if st.WriteFailures[1] != 0 {
		t.Errorf("permanent write failures: got %d, want 0 (a dead server is retryable)", st.WriteFailures[1])
	}
	for _, w := range rec.get() {
		if code, retryable := lastredis.Classify(w.Err); !retryable {
			t.Errorf("write failure of %s seq %d: %s, permanent (%v), want retryable", w.Session, w.Seq, code, w.Err)
			break
		}
	}
	// The restarted server had lost its script cache: the backend reloaded it.
	if b.Stats().ScriptLoads == 0 {
		t.Error("SCRIPT LOADs: got 0, want at least one after the restart")
	}
}

// The script cache is flushed twice in the middle of a load: every write
// still succeeds (each Store that meets NOSCRIPT reloads the script and
// sends its items again), so the tracker sees no failure at all.
func TestScriptFlushMidLoad(t *testing.T) {
	srv := redistest.Start(t) // SCRIPT FLUSH would reach the shared server's other users
	client := redistest.Client(t, srv.Addr)
	admin := redistest.Client(t, srv.Addr)
	b := newBackend(t, client, lastredis.Config{})
	chk := fault.NewChecker(b)
	rec := newRecorder()
	tr := newTracker(t, chk, rec)
	names := sessions("flushed", 40)
	ctx := ctxT(t)

	l := startLoad(t, tr, names)
	for round := range 6 {
		if round == 2 || round == 4 {
			if err := admin.ScriptFlush(ctx).Err(); err != nil {
				t.Fatal(err)
			}
		}
		if err := tr.Flush(ctx); err != nil {
			t.Fatalf("Flush in round %d: %v", round, err)
		}
	}
	if err := l.end(); err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := tr.Flush(ctx); err != nil {
		t.Fatalf("final Flush: %v", err)
	}
	if err := chk.Verify(ctx, checkpoints(t, tr, names)); err != nil {
		t.Fatal(err)
	}
	if f := rec.get(); len(f) != 0 {
		t.Fatalf("write failures: got %d, first %v, want none", len(f), f[0].Err)
	}
	// One load for the fresh server's empty cache, then one at least per
	// SCRIPT FLUSH (several flushers may meet the same one).
	if got := b.Stats().ScriptLoads; got < 3 {
		t.Fatalf("SCRIPT LOADs: got %d, want at least 3", got)
	}
}

// One session's key holds a string: its writes fail permanently with
// WRONGTYPE, reported for that session only, and Flush cannot complete;
// every other session is stored, including those the tracker loads
// together with it before their first write. Once the key is removed, the
// tracker's retry stores it.
func TestWrongTypeKeyThroughTheTracker(t *testing.T) {
	client := shared(t)
	ctx := ctxT(t)
	b := newBackend(t, client, lastredis.Config{})
	chk := fault.NewChecker(b)
	rec := newRecorder()
	tr := newTracker(t, chk, rec)
	if err := client.Set(ctx, b.Key("bad"), "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
	names := append(sessions("good", 10), "bad")
	for _, s := range names {
		for i := 1; i <= 3; i++ {
			if _, err := tr.Observe(s, "e"+strconv.Itoa(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	err := tr.Flush(short)
	cancel()
	if !errors.Is(err, shard.ErrUnflushed) {
		t.Fatalf("Flush with a WRONGTYPE key: got %v, want ErrUnflushed", err)
	}
	fs := rec.get()
	if len(fs) == 0 {
		t.Fatal("no write failure reported for the WRONGTYPE key")
	}
	for _, w := range fs {
		var e *lastredis.Error
		if w.Session != "bad" || core.IsRetryable(w.Err) || !errors.As(w.Err, &e) || e.Code != "WRONGTYPE" {
			t.Fatalf("write failure: got session %q err %v, want only %q, permanent WRONGTYPE", w.Session, w.Err, "bad")
		}
	}
	good, err := b.Load(ctx, names[:10])
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range names[:10] {
		if good[s].Seq != 3 {
			t.Errorf("%s beside the WRONGTYPE key: stored seq %d, want 3", s, good[s].Seq)
		}
	}
	if err := client.Del(ctx, b.Key("bad")).Err(); err != nil {
		t.Fatal(err)
	}
	if err := tr.Flush(ctx); err != nil {
		t.Fatalf("Flush after the key was removed: %v", err)
	}
	if err := chk.Verify(ctx, checkpoints(t, tr, names)); err != nil {
		t.Fatal(err)
	}
}

// A restarted tracker resumes every session from Redis: the stored Seq
// continues and the persisted window makes a replay of the last IDs a
// duplicate.
func TestResumeAfterRestart(t *testing.T) {
	client := shared(t)
	ctx := ctxT(t)
	b := newBackend(t, client, lastredis.Config{})
	first := newTracker(t, b, newRecorder())
	for i := 1; i <= 5; i++ {
		if _, err := first.Observe("s", "e"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := first.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	second := newTracker(t, newBackend(t, shared(t), b.Config()), newRecorder())
	got, err := second.Resume(ctx, "s")
	if err != nil {
		t.Fatalf("Resume: %v", err)
	}
	if got.Seq != 5 || got.EventID != "e5" {
		t.Fatalf("Resume: got %+v, want e5 at seq 5", got)
	}
	for i := 1; i <= 5; i++ {
		if ok, err := second.Observe("s", "e"+strconv.Itoa(i)); err != nil || ok {
			t.Fatalf("Observe(e%d) after Resume: got (%v, %v), want a duplicate (persisted window)", i, ok, err)
		}
	}
	if ok, _ := second.Observe("s", "e6"); !ok {
		t.Fatal("Observe(e6) after Resume: not accepted")
	}
	if c, _ := second.Checkpoint("s"); c.Seq != 6 {
		t.Fatalf("Seq after Resume and one event: got %d, want 6", c.Seq)
	}
}
