package dynamodb

import (
	"math/rand/v2"
	"time"
)

// backoff returns the delay before retry attempt (from 0): uniform in
// [0, min(maxDelay, base*2^attempt)). Full jitter keeps writers that were
// throttled together from retrying together.
func backoff(base, maxDelay time.Duration, attempt int) time.Duration {
	ceiling := maxDelay
	if attempt < 62 && base > 0 && base <= maxDelay>>attempt {
		ceiling = base << attempt
	}
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling)
}
