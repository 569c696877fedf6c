package backendtest

import (
	"context"
	"testing"

	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/core"
)

// The reference backend keeps the whole contract.
func TestRunMemory(t *testing.T) {
	Run(t, Harness{New: func(*testing.T) core.Backend { return memory.New() }})
}

// handle is a second value on the same memory store, standing in for a
// handle another process would open.
type handle struct{ core.Backend }

// With Reopen, ConcurrentStores splits its writers over two handles.
func TestRunMemoryReopen(t *testing.T) {
	reopened := 0
	Run(t, Harness{
		New: func(*testing.T) core.Backend { return memory.New() },
		Reopen: func(_ *testing.T, b core.Backend) core.Backend {
			reopened++
			return handle{b}
		},
	})
	if reopened != 1 {
		t.Fatalf("Reopen calls: got %d, want 1 (ConcurrentStores)", reopened)
	}
}

// Sessions are named apart per check and per Run, so a Harness.New that
// hands every check the same store sees each check start clean.
func TestRunSharesOneStore(t *testing.T) {
	shared := memory.New()
	for range 2 {
		Run(t, Harness{New: func(*testing.T) core.Backend { return shared }})
	}
	if shared.Len() == 0 {
		t.Fatal("shared store: empty after two runs, want the checks' sessions")
	}
}

// overwriter keeps the newest checkpoint of each session within one Store
// call but overwrites across calls, as DynamoDB's Batch mode does.
type overwriter struct{ m *memory.Backend }

func (o overwriter) Store(ctx context.Context, batch []core.Checkpoint, results []core.Result) {
	valid := func(c core.Checkpoint) bool { return c.Session != "" && c.Seq != 0 && c.CheckWindow() == nil }
	newest := map[string]int{}
	for i, c := range batch {
		if j, ok := newest[c.Session]; valid(c) && (!ok || batch[j].Seq < c.Seq) {
			newest[c.Session] = i
		}
	}
	for i, c := range batch {
		valid := valid(c)
		if j, ok := newest[c.Session]; ok && j != i && valid {
			results[i] = core.Result{Outcome: core.OutcomeStale}
			continue
		}
		if valid && ctx.Err() == nil {
			_ = o.m.Delete(ctx, c.Session) // no condition: whatever was stored goes
		}
		o.m.Store(ctx, batch[i:i+1], results[i:i+1]) // refuses the invalid ones
	}
}

func (o overwriter) Load(ctx context.Context, s []string) (map[string]core.Checkpoint, error) {
	return o.m.Load(ctx, s)
}
func (o overwriter) Delete(ctx context.Context, s string) error { return o.m.Delete(ctx, s) }

// NotMonotonicAcrossCalls lets a batch-mode backend pass everything else;
// without it, Monotonic fails (see TestChecksCatchBrokenBackends).
func TestRunNotMonotonicAcrossCalls(t *testing.T) {
	Run(t, Harness{
		New:                     func(*testing.T) core.Backend { return overwriter{memory.New()} },
		NotMonotonicAcrossCalls: true,
	})
}

// A backend keeping windows apart from EventID and Seq (splitWindow
// without a flaw) keeps the whole contract, and through Harness.Corrupt
// CorruptWindow runs and passes: the flawed variants in broken_test.go
// differ from a passing backend by one rule each.
func TestRunSplitWindowWithCorrupt(t *testing.T) {
	corrupted := 0
	Run(t, Harness{
		New: func(*testing.T) core.Backend { return newSplitWindow(keepsContract) },
		Corrupt: func(_ *testing.T, b core.Backend, c core.Checkpoint) {
			corrupted++
			b.(*splitWindow).corrupt(c)
		},
	})
	if corrupted == 0 {
		t.Fatal("Corrupt calls: got 0, want CorruptWindow to call it")
	}
}
