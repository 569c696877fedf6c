package core_test

import (
	"context"
	"errors"
	"testing"

	"github.com/lastevent/lastevent/core"
)

func TestBackendError(t *testing.T) {
	cause := context.DeadlineExceeded
	for _, tc := range []struct {
		err  *core.BackendError
		want string
	}{
		{&core.BackendError{Backend: "kv", Op: "PUT", Session: "s", Seq: 7, Code: "Timeout", Retryable: true, Err: cause},
			`lastevent/kv: PUT session "s" seq 7: retryable Timeout: context deadline exceeded`},
		{&core.BackendError{Backend: "kv", Op: "GET", Session: "s", Code: "Denied", Err: cause},
			`lastevent/kv: GET session "s": permanent Denied: context deadline exceeded`},
		{&core.BackendError{Backend: "kv", Op: "MGET", Code: "Denied", Err: cause},
			`lastevent/kv: MGET: permanent Denied: context deadline exceeded`},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error(): got %q, want %q", got, tc.want)
		}
		if !errors.Is(tc.err, cause) {
			t.Errorf("%v: does not wrap its cause", tc.err)
		}
		if got := errors.Is(tc.err, core.ErrRetryable); got != tc.err.Retryable {
			t.Errorf("%v: wraps ErrRetryable %t, want %t", tc.err, got, tc.err.Retryable)
		}
		if got := core.IsRetryable(tc.err); got != tc.err.Retryable {
			t.Errorf("IsRetryable(%v): got %t, want %t", tc.err, got, tc.err.Retryable)
		}
	}
}
