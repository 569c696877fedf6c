package core_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/lastevent/lastevent/core"
)

func TestResultStored(t *testing.T) {
	errBoom := errors.New("boom")
	for _, tc := range []struct {
		r    core.Result
		want bool
	}{
		{core.Result{Outcome: core.OutcomeWritten}, true},
		{core.Result{Outcome: core.OutcomeStale}, true},
		{core.Result{Outcome: core.OutcomeFailed, Err: errBoom}, false},
		{core.Result{Outcome: core.OutcomeFailed}, false},
		{core.Result{}, false},
		{core.Result{Outcome: core.Outcome(99)}, false},
	} {
		if got := tc.r.Stored(); got != tc.want {
			t.Errorf("Result{%v, %v}.Stored(): got %t, want %t", tc.r.Outcome, tc.r.Err, got, tc.want)
		}
	}
}

func TestResultErrorStored(t *testing.T) {
	for _, o := range []core.Outcome{core.OutcomeWritten, core.OutcomeStale} {
		if err := (core.Result{Outcome: o}).Error(); err != nil {
			t.Errorf("Result{%v}.Error(): got %v, want nil", o, err)
		}
		// A stored result is durable whatever Err says.
		if err := (core.Result{Outcome: o, Err: errors.New("ignored")}).Error(); err != nil {
			t.Errorf("Result{%v, Err}.Error(): got %v, want nil", o, err)
		}
	}
}

func TestResultErrorFailed(t *testing.T) {
	cp := core.Checkpoint{Session: "s1", EventID: "e7", Seq: 7}
	for _, tc := range []struct {
		name      string
		err       error
		retryable bool
	}{
		{"retryable", fmt.Errorf("%w: session %q seq %d: %w", core.ErrRetryable, cp.Session, cp.Seq, context.DeadlineExceeded), true},
		{"permanent", fmt.Errorf("%w: session %q seq %d: item too large", core.ErrPermanent, cp.Session, cp.Seq), false},
		{"unclassified", errors.New("backend forgot to classify"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := core.Result{Outcome: core.OutcomeFailed, Err: tc.err}.Error()
			if got != tc.err {
				t.Fatalf("Error(): got %v, want the backend's error %v", got, tc.err)
			}
			if r := core.IsRetryable(got); r != tc.retryable {
				t.Fatalf("IsRetryable(%v): got %t, want %t", got, r, tc.retryable)
			}
		})
	}
}

func TestResultErrorFailedWithoutErr(t *testing.T) {
	err := core.Result{Outcome: core.OutcomeFailed}.Error()
	if err == nil {
		t.Fatalf("Result{OutcomeFailed}.Error(): got nil, want an error")
	}
	if !core.IsRetryable(err) || !errors.Is(err, core.ErrRetryable) {
		t.Fatalf("Result{OutcomeFailed}.Error() = %v: got not retryable, want retryable", err)
	}
}

func TestResultErrorNoOutcome(t *testing.T) {
	for _, r := range []core.Result{
		{},
		{Outcome: core.OutcomeUnknown},
		{Outcome: core.Outcome(99)},
	} {
		err := r.Error()
		if !errors.Is(err, core.ErrNoOutcome) {
			t.Errorf("Result{%v}.Error(): got %v, want an error wrapping ErrNoOutcome", r.Outcome, err)
		}
		if !core.IsRetryable(err) || !errors.Is(err, core.ErrRetryable) {
			t.Errorf("Result{%v}.Error() = %v: got not retryable, want retryable", r.Outcome, err)
		}
	}
}

func TestIsRetryable(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"ErrRetryable", core.ErrRetryable, true},
		{"ErrPermanent", core.ErrPermanent, false},
		{"unclassified", errors.New("x"), true},
		{"context", context.Canceled, true},
		{"wrapped permanent", fmt.Errorf("store: %w", fmt.Errorf("%w: access denied", core.ErrPermanent)), false},
		{"wrapped retryable", fmt.Errorf("store: %w", fmt.Errorf("%w: throttled", core.ErrRetryable)), true},
		{"joined permanent", errors.Join(errors.New("x"), core.ErrPermanent), false},
		// Permanent wins: retrying a request that will fail again cannot help.
		{"both", errors.Join(core.ErrRetryable, core.ErrPermanent), false},
	} {
		if got := core.IsRetryable(tc.err); got != tc.want {
			t.Errorf("IsRetryable(%s): got %t, want %t", tc.name, got, tc.want)
		}
	}
}

func TestOutcomeString(t *testing.T) {
	for _, tc := range []struct {
		o    core.Outcome
		want string
	}{
		{core.OutcomeUnknown, "unknown"},
		{core.OutcomeWritten, "written"},
		{core.OutcomeStale, "stale"},
		{core.OutcomeFailed, "failed"},
		{core.Outcome(200), "unknown"},
	} {
		if got := tc.o.String(); got != tc.want {
			t.Errorf("Outcome(%d).String(): got %q, want %q", uint8(tc.o), got, tc.want)
		}
	}
	if core.Outcome(0) != core.OutcomeUnknown {
		t.Errorf("zero Outcome: got %v, want OutcomeUnknown", core.Outcome(0))
	}
}
