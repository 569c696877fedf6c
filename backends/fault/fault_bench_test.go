package fault_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/lastevent/lastevent/backends/fault"
	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/core"
)

// BenchmarkStore is the cost per checkpoint of the wrappers on a flusher's
// Store call of 256 items, against the bare memory backend as the floor.
// Seqs grow every call so each item is a real write.
func BenchmarkStore(b *testing.B) {
	const size, sessions = 256, 4096
	for _, tc := range []struct {
		name string
		wrap func(core.Backend) core.Backend
	}{
		{"impl=memory", func(n core.Backend) core.Backend { return n }},
		{"impl=fault/faults=none", func(n core.Backend) core.Backend { return fault.New(n, fault.Config{}) }},
		{"impl=fault/faults=errors-10pct", func(n core.Backend) core.Backend {
			return fault.New(n, fault.Config{ErrorRate: 0.1})
		}},
		{"impl=checker", func(n core.Backend) core.Backend { return fault.NewChecker(n) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			be := tc.wrap(memory.New())
			names := make([]string, sessions)
			for i := range names {
				names[i] = "session-" + strconv.Itoa(i)
			}
			batch := make([]core.Checkpoint, size)
			results := make([]core.Result, size)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				for j := range batch {
					k := i*size + j
					batch[j] = core.Checkpoint{Session: names[k%sessions], EventID: "e", Seq: uint64(k/sessions + 1)}
				}
				clear(results)
				be.Store(ctx, batch, results)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*size), "ns/item")
		})
	}
}
