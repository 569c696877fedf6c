package fault_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/lastevent/lastevent/backends/fault"
	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/core"
)

// lastWriterWins is a broken backend: it overwrites whatever is stored, so
// an older checkpoint can replace a newer one. It is what the Checker
// exists to catch.
type lastWriterWins struct {
	mu sync.Mutex
	m  map[string]core.Checkpoint
}

func newLastWriterWins() *lastWriterWins { return &lastWriterWins{m: map[string]core.Checkpoint{}} }

func (b *lastWriterWins) Store(_ context.Context, batch []core.Checkpoint, results []core.Result) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, cp := range batch {
		b.m[cp.Session] = cp
		results[i] = core.Result{Outcome: core.OutcomeWritten}
	}
}

func (b *lastWriterWins) Load(_ context.Context, sessions []string) (map[string]core.Checkpoint, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]core.Checkpoint{}
	for _, s := range sessions {
		if cp, ok := b.m[s]; ok {
			out[s] = cp
		}
	}
	return out, nil
}

func (b *lastWriterWins) Delete(_ context.Context, session string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.m, session)
	return nil
}

func cp(session, id string, seq uint64) core.Checkpoint {
	return core.Checkpoint{Session: session, EventID: id, Seq: seq}
}

func TestCheckerPassesCorrectHistory(t *testing.T) {
	ctx := context.Background()
	chk := fault.NewChecker(newLastWriterWins())
	store(ctx, chk, []core.Checkpoint{cp("a", "1", 1), cp("b", "1", 1)})
	store(ctx, chk, []core.Checkpoint{cp("a", "5", 5), cp("b", "1", 1)}) // b re-written identically
	store(ctx, chk, []core.Checkpoint{cp("a", "9", 9)})
	if _, err := chk.Load(ctx, []string{"a", "b", "never"}); err != nil {
		t.Fatal(err)
	}
	if err := chk.Err(); err != nil || len(chk.Regressions()) != 0 {
		t.Fatalf("increasing history: Err %v, Regressions %v, want none", err, chk.Regressions())
	}
	if got, ok := chk.Stored("a"); !ok || got != cp("a", "9", 9) {
		t.Fatalf("Stored(a): got %+v, %v, want seq 9", got, ok)
	}
	want := map[string]core.Checkpoint{"a": cp("a", "9", 9), "b": cp("b", "1", 1), "never": {}}
	if err := chk.Verify(ctx, want); err != nil {
		t.Fatalf("Verify of a correct history: %v", err)
	}
	st := chk.Stats()
	if st.StoreCalls != 3 || st.Items != 5 || st.Written != 5 || st.Sessions != 2 || st.Regressions != 0 {
		t.Fatalf("Stats %+v: want 3 calls, 5 items, 5 written, 2 sessions, 0 regressions", st)
	}
}

func TestCheckerDetectsStoreRegression(t *testing.T) {
	ctx := context.Background()
	chk := fault.NewChecker(newLastWriterWins())
	store(ctx, chk, []core.Checkpoint{cp("a", "5", 5), cp("b", "7", 7)})
	store(ctx, chk, []core.Checkpoint{cp("a", "3", 3)}) // lower seq
	store(ctx, chk, []core.Checkpoint{cp("b", "x", 7)}) // same seq, another event
	store(ctx, chk, []core.Checkpoint{cp("b", "7", 7)}) // same checkpoint again: fine
	regs := chk.Regressions()
	want := []fault.Regression{
		{Op: "store", Had: cp("a", "5", 5), Got: cp("a", "3", 3)},
		{Op: "store", Had: cp("b", "7", 7), Got: cp("b", "x", 7)},
	}
	if len(regs) != len(want) || regs[0] != want[0] || regs[1] != want[1] {
		t.Fatalf("Regressions: got %+v, want %+v", regs, want)
	}
	err := chk.Err()
	if !errors.Is(err, fault.ErrRegression) || !strings.Contains(err.Error(), "2 found") || !strings.Contains(err.Error(), `"a"`) {
		t.Fatalf("Err: got %v, want ErrRegression naming 2 and session a", err)
	}
	if got, _ := chk.Stored("a"); got.Seq != 5 {
		t.Fatalf("Stored(a) after a regression: %+v, want the highest, seq 5", got)
	}
	// The store really went backwards: Verify reports the loss and the regressions.
	err = chk.Verify(ctx, map[string]core.Checkpoint{"a": cp("a", "5", 5), "b": cp("b", "7", 7)})
	if !errors.Is(err, fault.ErrLost) || !errors.Is(err, fault.ErrRegression) {
		t.Fatalf("Verify after a regression: got %v, want ErrLost and ErrRegression", err)
	}
	if !strings.Contains(err.Error(), `"a": stored seq 3 event "3", want seq 5 event "5"`) {
		t.Fatalf("Verify error %q does not describe session a", err)
	}
}

func TestCheckerDetectsLoadRegression(t *testing.T) {
	ctx := context.Background()
	inner := newLastWriterWins()
	chk := fault.NewChecker(inner)
	store(ctx, chk, []core.Checkpoint{cp("a", "5", 5), cp("b", "5", 5)})
	store(ctx, inner, []core.Checkpoint{cp("a", "2", 2)}) // behind the checker's back
	if err := inner.Delete(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := chk.Load(ctx, []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	regs := chk.Regressions()
	if len(regs) != 2 {
		t.Fatalf("Regressions after an older and a vanished checkpoint: got %+v, want 2", regs)
	}
	for _, r := range regs {
		if r.Op != "load" {
			t.Fatalf("regression %v: Op %q, want load", r, r.Op)
		}
	}
}

func TestCheckerDeleteForgets(t *testing.T) {
	ctx := context.Background()
	chk := fault.NewChecker(memory.New())
	store(ctx, chk, []core.Checkpoint{cp("a", "40", 40)})
	if err := chk.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, ok := chk.Stored("a"); ok {
		t.Fatal("Stored(a) after Delete: still recorded")
	}
	store(ctx, chk, []core.Checkpoint{cp("a", "1", 1)}) // a new history from Seq 1
	if err := chk.Err(); err != nil {
		t.Fatalf("restart after Delete: %v", err)
	}
	// A failed Delete keeps the record.
	fb := fault.New(memory.New(), fault.Config{DeleteErrorRate: 1})
	chk2 := fault.NewChecker(fb)
	store(ctx, chk2, []core.Checkpoint{cp("a", "3", 3)})
	if err := chk2.Delete(ctx, "a"); err == nil {
		t.Fatal("Delete through DeleteErrorRate 1 succeeded")
	}
	if _, ok := chk2.Stored("a"); !ok {
		t.Fatal("a failed Delete forgot the session")
	}
}

func TestVerifyReportsEveryDifference(t *testing.T) {
	ctx := context.Background()
	chk := fault.NewChecker(memory.New())
	store(ctx, chk, []core.Checkpoint{cp("old", "3", 3), cp("other", "1", 1), cp("ghost", "1", 1), cp("extra", "1", 1)})
	want := map[string]core.Checkpoint{
		"old":     cp("old", "4", 4),     // stored 3
		"other":   cp("other", "2", 1),   // right seq, wrong event
		"ghost":   {},                    // must be absent
		"missing": cp("missing", "1", 1), // never stored
	} // "extra" stored but not wanted
	err := chk.Verify(ctx, want)
	if !errors.Is(err, fault.ErrLost) || errors.Is(err, fault.ErrRegression) {
		t.Fatalf("Verify: got %v, want ErrLost only", err)
	}
	if !strings.Contains(err.Error(), "5 sessions differ") {
		t.Fatalf("Verify: %q, want 5 sessions named as differing", err)
	}
	if err := chk.Verify(ctx, map[string]core.Checkpoint{
		"old": cp("old", "3", 3), "other": cp("other", "1", 1), "ghost": cp("ghost", "1", 1), "extra": cp("extra", "1", 1),
	}); err != nil {
		t.Fatalf("Verify of exactly what is stored: %v", err)
	}
	// A Verify whose Load fails says so rather than reporting a match.
	failing := fault.NewChecker(fault.New(memory.New(), fault.Config{LoadErrorRate: 1}))
	if err := failing.Verify(ctx, map[string]core.Checkpoint{"a": {}}); !errors.Is(err, fault.ErrInjected) {
		t.Fatalf("Verify over a failing Load: got %v, want the load error", err)
	}
}
