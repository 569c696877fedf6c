package backoff

import (
	"testing"
	"time"
)

func TestBackoffStaysInItsWindow(t *testing.T) {
	const base, maxDelay = 25 * time.Millisecond, time.Second
	for attempt := range 80 {
		ceiling := maxDelay
		if attempt < 6 { // 25ms << 6 = 1.6s > 1s
			ceiling = base << attempt
		}
		var top time.Duration
		for range 200 {
			d := FullJitter(base, maxDelay, attempt)
			if d < 0 || d >= ceiling {
				t.Fatalf("FullJitter(attempt %d) = %v, want in [0, %v)", attempt, d, ceiling)
			}
			top = max(top, d)
		}
		if top < ceiling/2 { // 200 uniform draws all in the lower half: p = 2^-200
			t.Fatalf("FullJitter(attempt %d): largest of 200 draws %v, want jitter across [0, %v)", attempt, top, ceiling)
		}
	}
	if d := FullJitter(0, 0, 3); d != 0 {
		t.Fatalf("FullJitter with zero delays: got %v, want 0", d)
	}
}
