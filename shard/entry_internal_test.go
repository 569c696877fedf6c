package shard

import "testing"

// TestDuplicateCountOverflow: the 16-bit per-entry duplicate count hands a
// full count to the caller when it fills, so no duplicate goes uncounted.
func TestDuplicateCountOverflow(t *testing.T) {
	var e entry
	e.Lock()
	defer e.Unlock()
	var published uint64
	const n = 3*65535 + 7
	for range n {
		published += e.countDuplicateLocked()
	}
	if published != 3*65535 {
		t.Fatalf("counts returned on overflow: got %d, want %d", published, 3*65535)
	}
	if got := e.takeDuplicatesLocked(); got != 7 {
		t.Fatalf("takeDuplicatesLocked: got %d, want 7", got)
	}
	if got := e.takeDuplicatesLocked(); got != 0 {
		t.Fatalf("takeDuplicatesLocked after a take: got %d, want 0", got)
	}
}
