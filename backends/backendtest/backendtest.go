package backendtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/lastevent/lastevent/core"
)

// DefaultTimeout bounds each check when Harness.Timeout is zero: long
// enough for a few thousand requests to a local server under -race.
const DefaultTimeout = 30 * time.Second

// Harness tells Run how to get the backend under test and which parts of
// the contract it does not keep. A Harness is a plain value; Run does not
// retain it after it returns.
type Harness struct {
	// New returns the backend under test. Run calls it once per check,
	// with the check's subtest, so it can release the backend with
	// t.Cleanup or skip with t.Skip when its store is unavailable. The
	// store should be empty or at least hold none of the sessions the
	// checks name (they are unique per Run call). Required.
	New func(t *testing.T) core.Backend

	// Reopen, if set, returns a second, independent handle on the store b
	// uses, as another process would open it. ConcurrentStores then sends
	// half of its writers through it and checks that both handles Load
	// the same result: monotonicity must hold in the store, not only in
	// one process. Leave it nil for an in-process backend. Called on the
	// check's test goroutine.
	Reopen func(t *testing.T, b core.Backend) core.Backend

	// NotMonotonicAcrossCalls declares a backend that writes a checkpoint
	// without comparing it with the stored one, so a later Store call with
	// a lower Seq overwrites a higher one. That breaks the contract and is
	// safe only with one writer per session; DynamoDB's Batch mode is such a
	// backend, because BatchWriteItem takes no condition. Run then skips
	// Monotonic, and ConcurrentStores gives each writer sessions of its
	// own; every other check still runs, including duplicates within one
	// batch. Default false: the backend keeps the whole contract.
	NotMonotonicAcrossCalls bool

	// Corrupt, if set, writes c to the store b uses exactly as given,
	// outside the Backend interface: with the store's own client (a
	// DynamoDB PutItem, a Redis HSET), in the layout b reads, as a foreign
	// writer or a damaged disk would. It fails t if the write fails.
	// c.Session (which has nothing stored yet), c.EventID and c.Seq are
	// valid; c.Window fails c.CheckWindow (a torn length, a newest hash
	// that is not EventID's, a repeated hash, more hashes than Seq or than
	// core.MaxWindow) and is to be stored as its bytes. CorruptWindow then
	// requires Load to refuse the stored value with an error, not a panic
	// and not the checkpoint without its window. Leave it nil when the
	// store cannot be written around the backend (the memory backend):
	// CorruptWindow is then skipped. Called on the check's test goroutine.
	Corrupt func(t *testing.T, b core.Backend, c core.Checkpoint)

	// Timeout bounds the context of each check. Default DefaultTimeout.
	Timeout time.Duration
}

func (h Harness) timeout() time.Duration {
	if h.Timeout > 0 {
		return h.Timeout
	}
	return DefaultTimeout
}

// env is what a check runs with.
type env struct {
	ctx context.Context
	b   core.Backend
	// ns prefixes every session the check names: unique per check and per
	// Run call.
	ns string
	// reopen returns a second handle on b's store, or is nil.
	reopen func() core.Backend
	// monotonic is false for a NotMonotonicAcrossCalls backend.
	monotonic bool
	// corrupt stores c around the backend (Harness.Corrupt), or is nil.
	corrupt func(c core.Checkpoint)
}

// check is one rule of the contract. run returns nil when the backend
// keeps it, or an error listing every departure found.
type check struct {
	name string
	// needsMonotonic: skipped for a NotMonotonicAcrossCalls backend.
	needsMonotonic bool
	// needsCorrupt: skipped without Harness.Corrupt.
	needsCorrupt bool
	run          func(e *env) error
}

// checks are the rules Run checks, in order.
var checks = []check{
	{name: "Monotonic", needsMonotonic: true, run: checkMonotonic},
	{name: "DuplicatesInOneBatch", run: checkDuplicatesInOneBatch},
	{name: "InvalidCheckpoints", run: checkInvalidCheckpoints},
	{name: "EndedContext", run: checkEndedContext},
	{name: "EveryResultFilled", run: checkEveryResultFilled},
	{name: "Load", run: checkLoad},
	{name: "Delete", run: checkDelete},
	{name: "ConcurrentStores", run: checkConcurrentStores},
	{name: "RoundTrip", run: checkRoundTrip},
	{name: "WindowRoundTrip", run: checkWindowRoundTrip},
	{name: "WindowReplaced", run: checkWindowReplaced},
	{name: "WindowStale", needsMonotonic: true, run: checkWindowStale},
	{name: "CorruptWindow", needsCorrupt: true, run: checkCorruptWindow},
}

// Run checks the backends h.New returns against the core.Backend contract,
// one subtest per check (see the package doc), and reports every departure
// with t.Error. It fails t at once if h.New is nil.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("backendtest: Harness.New is nil")
	}
	runID := fmt.Sprintf("%016x", rand.Uint64())
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if c.needsMonotonic && h.NotMonotonicAcrossCalls {
				t.Skip("backendtest: Harness.NotMonotonicAcrossCalls: the backend overwrites across Store calls")
			}
			if c.needsCorrupt && h.Corrupt == nil {
				t.Skip("backendtest: Harness.Corrupt is nil: no way to store a malformed window around the backend")
			}
			b := h.New(t)
			if b == nil {
				t.Fatal("backendtest: Harness.New returned nil")
			}
			ctx, cancel := context.WithTimeout(t.Context(), h.timeout())
			defer cancel()
			e := &env{ctx: ctx, b: b, ns: "backendtest/" + runID + "/" + c.name + "/", monotonic: !h.NotMonotonicAcrossCalls}
			if h.Reopen != nil {
				e.reopen = func() core.Backend { return h.Reopen(t, b) }
			}
			if h.Corrupt != nil {
				e.corrupt = func(c core.Checkpoint) { h.Corrupt(t, b, c) }
			}
			if err := c.run(e); err != nil {
				t.Error(err)
			}
		})
	}
}

// problems collects the departures one check finds.
type problems []error

func (p *problems) addf(format string, args ...any) {
	*p = append(*p, fmt.Errorf(format, args...))
}

// err returns every problem joined, one a line, or nil.
func (p problems) err() error { return errors.Join(p...) }

// store writes batch through b and returns its results.
func store(ctx context.Context, b core.Backend, batch ...core.Checkpoint) []core.Result {
	results := make([]core.Result, len(batch))
	b.Store(ctx, batch, results)
	return results
}

// indexed returns the sessions of batch, in order, and batch by session:
// what a check loads back and what it expects to find.
func indexed(batch []core.Checkpoint) (names []string, want map[string]core.Checkpoint) {
	names = make([]string, len(batch))
	want = make(map[string]core.Checkpoint, len(batch))
	for i, c := range batch {
		names[i] = c.Session
		want[c.Session] = c
	}
	return names, want
}

func cp(session, id string, seq uint64) core.Checkpoint {
	return core.Checkpoint{Session: session, EventID: id, Seq: seq}
}

// loadExact loads names and reports, in p, every session whose result
// differs from want (absent from want means it must be absent). It returns
// false if the Load itself failed.
func loadExact(ctx context.Context, b core.Backend, names []string, want map[string]core.Checkpoint, p *problems) bool {
	got, err := b.Load(ctx, names)
	if err != nil {
		p.addf("Load of %d sessions: %w", len(names), err)
		return false
	}
	for s, c := range got {
		if w, ok := want[s]; !ok {
			p.addf("Load of %d sessions: %.60q present as %s, want absent", len(names), s, describe(c))
		} else if c != w {
			p.addf("Load of %d sessions: %.60q is %s, want %s", len(names), s, describe(c), describe(w))
		}
	}
	for s, w := range want {
		if _, ok := got[s]; !ok {
			p.addf("Load of %d sessions: %.60q absent, want %s", len(names), s, describe(w))
		}
	}
	return true
}

// describe names a checkpoint short enough for a failure message, even
// with a name and ID of a kilobyte and a window of 256 KiB.
func describe(c core.Checkpoint) string {
	return fmt.Sprintf("{Session %.40q (%d bytes) EventID %.40q (%d bytes) Seq %d Window %s}",
		c.Session, len(c.Session), c.EventID, len(c.EventID), c.Seq, describeWindow(c.Window))
}

// describeWindow shows a window by its length, newest hash and a digest of
// the whole: two windows that differ only in an older hash still read
// differently.
func describeWindow(w core.Window) string {
	n := w.Len()
	switch {
	case w == "":
		return "none"
	case n < 0:
		return fmt.Sprintf("torn (%d bytes, sum %08x)", len(w), uint32(xxhash.Sum64String(string(w))))
	default:
		return fmt.Sprintf("%d hashes (newest %016x, sum %08x)", n, w.Hash(n-1), uint32(xxhash.Sum64String(string(w))))
	}
}
