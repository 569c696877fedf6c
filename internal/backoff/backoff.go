// Package backoff is the exponential backoff with full jitter shared by the
// tracker's retries (shard) and the DynamoDB backend's retries of
// unprocessed items, and the cancellable wait every retry loop of the module
// uses. The callers keep their own attempt counts, so no per-operation state
// (as in cenkalti/backoff's BackOff) is needed.
package backoff

import (
	"math/rand/v2"
	"time"
)

// FullJitter returns the wait before retry attempt (counted from 0): a
// uniform random duration in [0, min(maxDelay, base*2^attempt)). Full
// jitter keeps clients that failed together from retrying together. It
// returns 0 when the ceiling is not positive. Safe for concurrent use.
func FullJitter(base, maxDelay time.Duration, attempt int) time.Duration {
	ceiling := maxDelay
	if attempt >= 0 && attempt < 62 && base > 0 && base <= maxDelay>>attempt {
		ceiling = base << attempt
	}
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling)
}
