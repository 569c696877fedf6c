package memory_test

import (
	"context"
	"fmt"

	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/core"
)

// The memory backend keeps the highest Seq per session: an older checkpoint
// is reported stale and leaves the stored one in place.
func ExampleBackend() {
	ctx := context.Background()
	b := memory.New()

	batch := []core.Checkpoint{
		{Session: "session-1", EventID: "42", Seq: 5},
		{Session: "session-1", EventID: "40", Seq: 3}, // older: stale
		{Session: "session-2", EventID: "7", Seq: 1},
	}
	results := make([]core.Result, len(batch))
	b.Store(ctx, batch, results)
	for i, r := range results {
		fmt.Printf("%s seq %d: %v\n", batch[i].Session, batch[i].Seq, r.Outcome)
	}

	cp, _ := b.Get("session-1")
	fmt.Printf("stored: event %s, seq %d\n", cp.EventID, cp.Seq)
	st := b.Stats()
	fmt.Printf("writes %d, stale %d\n", st.Writes, st.Stale)
	// Output:
	// session-1 seq 5: written
	// session-1 seq 3: stale
	// session-2 seq 1: written
	// stored: event 42, seq 5
	// writes 2, stale 1
}
