package backendtest

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"

	"github.com/lastevent/lastevent/core"
)

// windowLarge is the large window the checks store: 4096 hashes, 32 KiB,
// enough for a backend that caps or truncates a value (a 255-byte column,
// a 16 KiB page) to show it, and with its item still far under DynamoDB's
// 400 KB limit in either mode.
const windowLarge = 4096

// withWindow returns c carrying a valid window of min(n, c.Seq) hashes: n-1
// drawn from salt, then the hash of c.EventID, newest last, as
// core.Checkpoint.CheckWindow requires. Another salt gives another window
// for the same checkpoint; n <= 0 gives none.
func withWindow(c core.Checkpoint, n int, salt uint64) core.Checkpoint {
	c.Window = ""
	if n <= 0 || c.Seq == 0 {
		return c
	}
	n = int(min(uint64(n), c.Seq))
	newest := xxhash.Sum64String(c.EventID)
	hs := make([]uint64, 0, n)
	seen := make(map[uint64]bool, n)
	seen[newest] = true
	rng := rand.New(rand.NewPCG(salt, xxhash.Sum64String(c.Session)))
	for len(hs) < n-1 {
		if h := rng.Uint64(); !seen[h] { // a window's hashes are distinct
			seen[h] = true
			hs = append(hs, h)
		}
	}
	c.Window = core.EncodeWindow(append(hs, newest))
	return c
}

// awkwardWindow returns c carrying a window whose bytes are the ones naive
// encoders mangle: all zero, all 0xff, NUL, CR and LF, bytes that are not
// UTF-8, quotes and backslashes. c.Seq must be at least 6.
func awkwardWindow(c core.Checkpoint) core.Checkpoint {
	c.Window = core.EncodeWindow([]uint64{
		0, ^uint64(0), 0x000a0d0a0d000000, 0xfffefcf8f0e0c080, 0x7d7b3a2324275c22,
		xxhash.Sum64String(c.EventID),
	})
	if err := c.CheckWindow(); err != nil {
		panic("backendtest: invalid test window: " + err.Error())
	}
	return c
}

// badWindows returns one checkpoint for each way a window can fail
// core.Checkpoint.CheckWindow, each on a session of its own named
// prefix+kind, with a valid session, event ID and Seq.
func badWindows(prefix string) []core.Checkpoint {
	torn := withWindow(cp(prefix+"torn", "t", 5), 3, 11)
	torn.Window = torn.Window[3:] // 21 bytes, still ending with the newest hash
	notNewest := withWindow(cp(prefix+"not-newest", "n", 5), 3, 12)
	notNewest.EventID = "another"
	repeated := cp(prefix+"repeated", "r", 5)
	repeated.Window = core.EncodeWindow([]uint64{1, 2, 1, xxhash.Sum64String("r")})
	moreThanSeq := withWindow(cp(prefix+"more-than-seq", "m", 4), 4, 13)
	moreThanSeq.Seq = 3
	overMax := withWindow(cp(prefix+"over-max", "o", core.MaxWindow+1), core.MaxWindow+1, 14)
	bad := []core.Checkpoint{torn, notNewest, repeated, moreThanSeq, overMax}
	for _, c := range bad {
		if c.CheckWindow() == nil {
			panic("backendtest: test window of " + c.Session + " is valid")
		}
	}
	return bad
}

// loadBoth loads names, then each name alone, and reports in p every
// result that differs from want: a backend may read one session another way
// than several (DynamoDB: GetItem, BatchGetItem), and both ways must carry
// the window.
func loadBoth(e *env, names []string, want map[string]core.Checkpoint, p *problems) {
	if !loadExact(e.ctx, e.b, names, want, p) {
		return
	}
	for _, s := range names {
		one := map[string]core.Checkpoint{}
		if c, ok := want[s]; ok {
			one[s] = c
		}
		loadExact(e.ctx, e.b, []string{s}, one, p)
	}
}

// checkWindowRoundTrip stores, in one batch, windows of 1, 2, 32
// (core.DefaultPersistWindow) and 4096 hashes, one of bytes naive encoders
// mangle, and a checkpoint without a window, then loads them all at once
// and one by one: each window comes back byte for byte, and the checkpoint
// without one comes back without.
func checkWindowRoundTrip(e *env) error {
	var p problems
	batch := []core.Checkpoint{
		cp(e.ns+"none", "n", 3),
		withWindow(cp(e.ns+"one", "o", 1), 1, 1),
		withWindow(cp(e.ns+"two", "t", 9), 2, 2),
		withWindow(cp(e.ns+"default", "d", 1000), core.DefaultPersistWindow, 3),
		withWindow(cp(e.ns+"large", "l", 1<<40), windowLarge, 4),
		awkwardWindow(cp(e.ns+"awkward", "a", 6)),
	}
	names, want := indexed(batch)
	for i, r := range store(e.ctx, e.b, batch...) {
		if r.Outcome != core.OutcomeWritten {
			p.addf("Store(%s): got %v (%v), want written", describe(batch[i]), r.Outcome, r.Err)
		}
	}
	if len(p) > 0 {
		return p.err()
	}
	loadBoth(e, names, want, &p)
	return p.err()
}

// checkWindowReplaced stores checkpoints of one session with rising Seq in
// separate calls, each with another window: shorter, longer, none, one
// again, a large one, a single hash. Each replaces the stored window
// wholesale: no hash of the old one survives and none is appended, and a
// checkpoint without a window leaves none (an older window would no longer
// end with the stored EventID). Then two batches name the session twice,
// newer item first: the older item's window does not land.
func checkWindowReplaced(e *env) error {
	var p problems
	s := e.ns + "s"
	names := []string{s, e.ns + "absent"} // two names: a Load of several sessions
	ck := func(id string, seq uint64, n int) core.Checkpoint {
		return withWindow(cp(s, id, seq), n, seq)
	}
	for _, st := range []struct {
		what  string
		batch []core.Checkpoint
	}{
		{"a window of 3 hashes", []core.Checkpoint{ck("e3", 3, 3)}},
		{"a shorter window", []core.Checkpoint{ck("e4", 4, 2)}},
		{"a longer window", []core.Checkpoint{ck("e6", 6, 5)}},
		{"no window", []core.Checkpoint{ck("e7", 7, 0)}},
		{"a window after none", []core.Checkpoint{ck("e9", 9, 4)}},
		{"a large window", []core.Checkpoint{ck("e10", 5000, windowLarge)}},
		{"one hash after a large window", []core.Checkpoint{ck("e11", 5001, 1)}},
		{"a window, then an older one in the same batch", []core.Checkpoint{ck("e13", 5013, 3), ck("e12", 5012, 3)}},
		{"no window, then an older one with a window in the same batch", []core.Checkpoint{ck("e15", 5015, 0), ck("e14", 5014, 2)}},
	} {
		for i, r := range store(e.ctx, e.b, st.batch...) {
			switch {
			case i == 0 && r.Outcome != core.OutcomeWritten:
				p.addf("Store(%s), %s: got %v (%v), want written", describe(st.batch[i]), st.what, r.Outcome, r.Err)
			case !r.Stored():
				p.addf("Store(%s), %s: got %v (%v), want stale or written", describe(st.batch[i]), st.what, r.Outcome, r.Err)
			}
		}
		n := len(p)
		loadBoth(e, names, map[string]core.Checkpoint{s: st.batch[0]}, &p)
		if len(p) > n {
			p.addf("(after storing %s)", st.what)
			break // every later step would report the same departure
		}
	}
	return p.err()
}

// checkWindowStale stores a checkpoint with a window, then, in separate
// calls, checkpoints with an equal or lower Seq: another window, the same
// EventID and Seq with another window, and no window at all. Each is
// OutcomeStale and leaves the stored window as it was: the window is
// written under the same condition as the Seq, and an empty one removes
// nothing when its checkpoint is stale.
func checkWindowStale(e *env) error {
	var p problems
	s := e.ns + "s"
	names := []string{s, e.ns + "absent"}
	kept := withWindow(cp(s, "five", 5), 4, 1)
	if r := store(e.ctx, e.b, kept)[0]; r.Outcome != core.OutcomeWritten {
		p.addf("Store(%s): got %v (%v), want written", describe(kept), r.Outcome, r.Err)
		return p.err()
	}
	want := map[string]core.Checkpoint{s: kept}
	for _, st := range []struct {
		what string
		in   core.Checkpoint
	}{
		{"a lower Seq with another window", withWindow(cp(s, "three", 3), 3, 2)},
		{"an equal Seq with another window", withWindow(cp(s, "other-five", 5), 5, 3)},
		{"the same EventID and Seq with another window", withWindow(cp(s, "five", 5), 2, 4)},
		{"a lower Seq without a window", cp(s, "four", 4)},
		{"the same EventID and Seq without a window", cp(s, "five", 5)},
	} {
		if r := store(e.ctx, e.b, st.in)[0]; r.Outcome != core.OutcomeStale || r.Err != nil {
			p.addf("Store(%s), %s: got %v (%v), want stale", describe(st.in), st.what, r.Outcome, r.Err)
		}
		n := len(p)
		loadBoth(e, names, want, &p)
		if len(p) > n {
			p.addf("(after storing %s)", st.what)
		}
	}
	return p.err()
}

// checkCorruptWindow stores, around the backend (Harness.Corrupt), values
// whose window fails core.Checkpoint.CheckWindow: torn, not ending with
// EventID's hash, with a repeated hash, with more hashes than Seq, with
// more than core.MaxWindow. A Load naming such a session, alone or with a
// good one, fails with an error wrapping core.ErrPermanent and
// core.ErrInvalidWindow that names it, and does not panic; a Load of the
// good session alone still succeeds; and a newer Store replaces the bad
// value, after which Load returns it.
func checkCorruptWindow(e *env) error {
	var p problems
	good := withWindow(cp(e.ns+"good", "g", 2), 2, 1)
	if r := store(e.ctx, e.b, good)[0]; r.Outcome != core.OutcomeWritten {
		p.addf("Store(%s): got %v (%v), want written", describe(good), r.Outcome, r.Err)
		return p.err()
	}
	for _, bad := range badWindows(e.ns + "corrupt-") {
		e.corrupt(bad)
		for _, names := range [][]string{{bad.Session}, {bad.Session, good.Session}} {
			got, err, panicked := loadCatching(e.ctx, e.b, names)
			switch {
			case panicked != nil:
				p.addf("Load of %d sessions, %.60q holding a bad window: panicked: %v", len(names), bad.Session, panicked)
			case err == nil:
				c, ok := got[bad.Session]
				p.addf("Load of %d sessions, %.60q holding a bad window (%s): got %s (present %v) and no error, want an error wrapping core.ErrPermanent and core.ErrInvalidWindow",
					len(names), bad.Session, describeWindow(bad.Window), describe(c), ok)
			case !errors.Is(err, core.ErrPermanent) || core.IsRetryable(err) || !errors.Is(err, core.ErrInvalidWindow):
				p.addf("Load of %d sessions, %.60q holding a bad window: got %v, want an error wrapping core.ErrPermanent and core.ErrInvalidWindow", len(names), bad.Session, err)
			case !strings.Contains(err.Error(), bad.Session):
				p.addf("Load of %d sessions, %.60q holding a bad window: error %q does not name the session", len(names), bad.Session, err)
			}
		}
		loadExact(e.ctx, e.b, []string{good.Session}, map[string]core.Checkpoint{good.Session: good}, &p)
		repaired := withWindow(cp(bad.Session, "repaired", bad.Seq+1), 3, 2)
		if r := store(e.ctx, e.b, repaired)[0]; r.Outcome != core.OutcomeWritten {
			p.addf("Store(%s) over a bad window: got %v (%v), want written", describe(repaired), r.Outcome, r.Err)
			continue
		}
		loadBoth(e, []string{bad.Session, good.Session}, map[string]core.Checkpoint{bad.Session: repaired, good.Session: good}, &p)
	}
	return p.err()
}

// loadCatching is Load with a panic returned as a value, so a backend that
// panics on a bad window fails the check rather than the test binary.
func loadCatching(ctx context.Context, b core.Backend, names []string) (got map[string]core.Checkpoint, err error, panicked any) {
	defer func() { panicked = recover() }()
	got, err = b.Load(ctx, names)
	return got, err, nil
}

// checkInvalidWindows is the part of checkInvalidCheckpoints about windows:
// a checkpoint whose window fails core.Checkpoint.CheckWindow fails
// permanently, wrapping core.ErrInvalidWindow and naming its session and
// seq, and changes nothing: the checkpoint stored before stays, a session
// with none still has none, and a valid item of the same batch is written.
func checkInvalidWindows(e *env, p *problems) {
	bad := badWindows(e.ns + "window-")
	before := make([]core.Checkpoint, len(bad))
	want := make(map[string]core.Checkpoint, len(bad))
	names := make([]string, 0, len(bad)+1)
	for i, c := range bad {
		before[i] = withWindow(cp(c.Session, "kept", 1), 1, 1)
		want[c.Session] = before[i]
		names = append(names, c.Session)
	}
	for i, r := range store(e.ctx, e.b, before...) {
		if r.Outcome != core.OutcomeWritten {
			p.addf("Store(%s): got %v (%v), want written", describe(before[i]), r.Outcome, r.Err)
			return
		}
	}
	fresh := bad[0] // a session with nothing stored
	fresh.Session = e.ns + "window-fresh"
	bad = append(bad, fresh)
	names = append(names, fresh.Session)
	good := withWindow(cp(e.ns+"window-ok", "ok", 3), 3, 1)
	want[good.Session] = good
	names = append(names, good.Session)
	res := store(e.ctx, e.b, append(bad, good)...)
	if r := res[len(bad)]; r.Outcome != core.OutcomeWritten {
		p.addf("Store(%s) beside bad windows: got %v (%v), want written", describe(good), r.Outcome, r.Err)
	}
	for i, r := range res[:len(bad)] {
		c := bad[i]
		switch {
		case r.Outcome != core.OutcomeFailed || !errors.Is(r.Err, core.ErrPermanent) || core.IsRetryable(r.Err) || !errors.Is(r.Err, core.ErrInvalidWindow):
			p.addf("Store(%s) with a window that fails CheckWindow (%v): got %v (%v), want failed with an error wrapping core.ErrPermanent and core.ErrInvalidWindow",
				describe(c), c.CheckWindow(), r.Outcome, r.Err)
		case !strings.Contains(r.Err.Error(), c.Session) || !strings.Contains(r.Err.Error(), strconv.FormatUint(c.Seq, 10)):
			p.addf("Store(%s) with a bad window: error %q does not name the session and seq", describe(c), r.Err)
		}
	}
	loadExact(e.ctx, e.b, names, want, p)
}
