package backendtest

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/lastevent/lastevent/core"
)

// checkMonotonic stores 5, 3, 7, another 7 and 1 for one session in
// separate calls: only 5 and the first 7 are written, and the stored
// checkpoint never moves backwards.
func checkMonotonic(e *env) error {
	var p problems
	s := e.ns + "s"
	steps := []struct {
		in   core.Checkpoint
		want core.Outcome
		kept core.Checkpoint
	}{
		{cp(s, "five", 5), core.OutcomeWritten, cp(s, "five", 5)},
		{cp(s, "three", 3), core.OutcomeStale, cp(s, "five", 5)},
		{cp(s, "seven", 7), core.OutcomeWritten, cp(s, "seven", 7)},
		{cp(s, "other-seven", 7), core.OutcomeStale, cp(s, "seven", 7)}, // an equal Seq is stale
		{cp(s, "one", 1), core.OutcomeStale, cp(s, "seven", 7)},
	}
	for _, st := range steps {
		r := store(e.ctx, e.b, st.in)[0]
		if r.Outcome != st.want || r.Err != nil {
			p.addf("Store(seq %d %q) after the steps before it: got %v (err %v), want %v", st.in.Seq, st.in.EventID, r.Outcome, r.Err, st.want)
		}
		if !loadExact(e.ctx, e.b, []string{s}, map[string]core.Checkpoint{s: st.kept}, &p) {
			break
		}
	}
	return p.err()
}

// checkDuplicatesInOneBatch stores one batch naming a session several
// times. The order in which a backend applies them is its own (DynamoDB's
// conditional mode sends them at once), so the check asks only what holds
// in any order: every item is stored, the highest Seq is written and is
// what stays, and of two items with the same Seq exactly one is written
// and it is the one stored. Each item carries a window of its own, which
// must be stored with its Seq: the written item's, not the last one's.
func checkDuplicatesInOneBatch(e *env) error {
	var p problems
	a, b, c := e.ns+"a", e.ns+"b", e.ns+"c"
	batch := []core.Checkpoint{cp(a, "5", 5), cp(a, "7", 7), cp(b, "1", 1), cp(a, "3", 3), cp(b, "1bis", 1), cp(c, "2", 2)}
	for i := range batch {
		batch[i] = withWindow(batch[i], 2, uint64(i))
	}
	res := store(e.ctx, e.b, batch...)
	for i, r := range res {
		if !r.Stored() {
			p.addf("Store(%q seq %d) in a batch with duplicates: got %v (%v), want written or stale", batch[i].Session, batch[i].Seq, r.Outcome, r.Err)
		}
	}
	for _, i := range []int{1, 5} { // a's newest, c's only
		if res[i].Outcome != core.OutcomeWritten {
			p.addf("Store(%q seq %d), the highest Seq of its session in the batch: got %v, want written", batch[i].Session, batch[i].Seq, res[i].Outcome)
		}
	}
	want := map[string]core.Checkpoint{a: batch[1], c: batch[5]}
	switch {
	case res[2].Outcome == core.OutcomeWritten && res[4].Outcome == core.OutcomeStale:
		want[b] = batch[2]
	case res[2].Outcome == core.OutcomeStale && res[4].Outcome == core.OutcomeWritten:
		want[b] = batch[4]
	default:
		p.addf("two items of %q with seq 1 in one batch: got %v and %v, want exactly one written and the other stale", b, res[2].Outcome, res[4].Outcome)
		want[b] = batch[2]
		if res[4].Outcome == core.OutcomeWritten {
			want[b] = batch[4]
		}
	}
	loadExact(e.ctx, e.b, []string{a, b, c}, want, &p)
	return p.err()
}

// checkInvalidCheckpoints stores an empty session and a Seq 0 beside a
// valid checkpoint: the invalid ones fail permanently and write nothing.
// Then checkpoints whose window fails CheckWindow do the same (see
// checkInvalidWindows).
func checkInvalidCheckpoints(e *env) error {
	var p problems
	zero, ok := e.ns+"zero-seq", e.ns+"ok"
	batch := []core.Checkpoint{cp("", "x", 1), cp(zero, "x", 0), cp(ok, "x", 1)}
	res := store(e.ctx, e.b, batch...)
	for i, r := range res[:2] {
		if r.Outcome != core.OutcomeFailed || !errors.Is(r.Err, core.ErrPermanent) || core.IsRetryable(r.Err) {
			p.addf("Store(%q seq %d): got %v (%v), want failed with an error wrapping core.ErrPermanent", batch[i].Session, batch[i].Seq, r.Outcome, r.Err)
		}
	}
	if r := res[1]; r.Err != nil && !strings.Contains(r.Err.Error(), zero) {
		p.addf("Store(%q seq 0): error %q does not name the session", zero, r.Err)
	}
	if r := res[2]; r.Outcome != core.OutcomeWritten {
		p.addf("Store(%q seq 1) beside invalid checkpoints: got %v (%v), want written", ok, r.Outcome, r.Err)
	}
	loadExact(e.ctx, e.b, []string{zero, ok}, map[string]core.Checkpoint{ok: batch[2]}, &p)
	checkInvalidWindows(e, &p)
	return p.err()
}

// checkEndedContext stores with a cancelled context, one whose deadline has
// passed and one canceled with a cause: every item fails retryably, wrapping
// ctx.Err() and naming its session and seq, and nothing is written.
func checkEndedContext(e *env) error {
	var p problems
	canceled, cancel := context.WithCancel(e.ctx)
	cancel()
	expired, cancel2 := context.WithDeadline(e.ctx, time.Now().Add(-time.Second))
	defer cancel2()
	caused, cancel3 := context.WithCancelCause(e.ctx)
	cancel3(errors.New("backendtest: shutting down")) // a cause other than context.Canceled
	var names []string
	for _, tc := range []struct {
		name string
		ctx  context.Context
	}{{"canceled", canceled}, {"deadline", expired}, {"cause", caused}} {
		batch := []core.Checkpoint{cp(e.ns+tc.name+"-a", "x", 41), cp(e.ns+tc.name+"-b", "x", 42), cp(e.ns+tc.name+"-c", "x", 43)}
		for i, r := range store(tc.ctx, e.b, batch...) {
			c := batch[i]
			switch {
			case r.Outcome != core.OutcomeFailed || !core.IsRetryable(r.Err) || !errors.Is(r.Err, core.ErrRetryable) || !errors.Is(r.Err, tc.ctx.Err()):
				p.addf("Store(%q seq %d) with an ended context (%v): got %v (%v), want failed with an error wrapping core.ErrRetryable and %v",
					c.Session, c.Seq, tc.ctx.Err(), r.Outcome, r.Err, tc.ctx.Err())
			case !strings.Contains(r.Err.Error(), c.Session) || !strings.Contains(r.Err.Error(), strconv.FormatUint(c.Seq, 10)):
				p.addf("Store(%q seq %d) with an ended context: error %q does not name the session and seq", c.Session, c.Seq, r.Err)
			}
			names = append(names, c.Session)
		}
	}
	loadExact(e.ctx, e.b, names, nil, &p)
	return p.err()
}

// errNotFilled is the garbage checkEveryResultFilled leaves in every
// result slot before Store, to see the slots Store does not fill.
var errNotFilled = errors.New("backendtest: result slot not filled by Store")

// checkEveryResultFilled stores 302 checkpoints, three for each of 100
// sessions in mixed order and two invalid ones, into result slots holding
// garbage: Store fills every slot, writes each session's highest Seq, and
// keeps no reference to the batch (it is overwritten before the Load).
func checkEveryResultFilled(e *env) error {
	var p problems
	const sessionsN = 100
	var batch []core.Checkpoint
	want := make(map[string]core.Checkpoint, sessionsN)
	names := make([]string, sessionsN)
	for i := range sessionsN {
		s := e.ns + strconv.Itoa(i)
		names[i] = s
		for _, seq := range [3]uint64{uint64(i%3 + 2), uint64((i+1)%3 + 2), uint64((i+2)%3 + 2)} {
			batch = append(batch, cp(s, "e"+strconv.FormatUint(seq, 10), seq))
		}
		want[s] = cp(s, "e4", 4)
	}
	batch = append(batch, cp("", "x", 1), cp(e.ns+"zero", "x", 0))
	results := make([]core.Result, len(batch))
	for i := range results {
		results[i] = core.Result{Outcome: core.OutcomeFailed, Err: errNotFilled}
	}
	e.b.Store(e.ctx, batch, results)
	for i, r := range results {
		c := batch[i]
		switch {
		case r.Outcome == core.OutcomeUnknown || r.Outcome > core.OutcomeFailed || errors.Is(r.Err, errNotFilled):
			p.addf("result %d of %d (%q seq %d) not filled: %v (%v)", i, len(batch), c.Session, c.Seq, r.Outcome, r.Err)
		case c.Session == "" || c.Seq == 0:
			if r.Outcome != core.OutcomeFailed || core.IsRetryable(r.Err) {
				p.addf("result %d (%q seq %d): got %v (%v), want a permanent failure", i, c.Session, c.Seq, r.Outcome, r.Err)
			}
		case c.Seq == 4 && r.Outcome != core.OutcomeWritten:
			p.addf("result %d (%q seq 4, its session's highest): got %v (%v), want written", i, c.Session, r.Outcome, r.Err)
		case !r.Stored():
			p.addf("result %d (%q seq %d): got %v (%v), want written or stale", i, c.Session, c.Seq, r.Outcome, r.Err)
		}
	}
	for i := range batch { // a backend that kept the slice would now store garbage
		batch[i] = cp(e.ns+"overwritten", "x", 1<<40)
	}
	loadExact(e.ctx, e.b, append(names, e.ns+"zero"), want, &p)
	return p.err()
}
