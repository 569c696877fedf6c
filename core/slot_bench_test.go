package core

import (
	"strconv"
	"testing"

	"github.com/cespare/xxhash/v2"
)

// BenchmarkSlotObserve isolates the slot (no map, no validation, no
// queueing) on a full window of the default size: case=new inserts IDs that
// left the window long ago, case=dup replays IDs in it. The Tracker-level
// comparison with the floor is in package bench.
func BenchmarkSlotObserve(b *testing.B) {
	ids := make([]string, 1<<16)
	hashes := make([]uint64, len(ids))
	for i := range ids {
		ids[i] = strconv.Itoa(1_700_000_000_000 + i)
		hashes[i] = xxhash.Sum64String(ids[i])
	}
	for _, c := range []string{"new", "dup"} {
		b.Run("case="+c, func(b *testing.B) {
			s, err := NewSlot(DefaultWindow, Checkpoint{})
			if err != nil {
				b.Fatal(err)
			}
			for i := range DefaultWindow {
				s.Observe(ids[i], hashes[i])
			}
			mask := len(ids) - 1
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				j := (i + DefaultWindow) & mask
				if c == "dup" {
					j = i & (DefaultWindow - 1)
				}
				if accepted, _ := s.Observe(ids[j], hashes[j]); accepted != (c == "new") {
					b.Fatalf("Observe(%q): accepted %v in case %s", ids[j], accepted, c)
				}
			}
		})
	}
}
