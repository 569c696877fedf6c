package shard_test

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lastevent/lastevent/shard"
)

// BenchmarkObserveDuringOutage compares Observe with the backend up and
// during an outage (every Store fails, the breakers open and probe). Observe
// never calls the backend, so the two should be within noise; the issue's
// bound is 20%. Compare with:
//
//	go test -run '^$' -bench ObserveDuringOutage -benchmem -count 8 ./shard | benchstat -col /backend -
func BenchmarkObserveDuringOutage(b *testing.B) {
	for _, mode := range []string{"up", "outage"} {
		b.Run("backend="+mode, func(b *testing.B) {
			fb := newFaultyBackend()
			fb.fail.Store(mode == "outage")
			tr := startTracker(b, fb, shard.Config{FlushInterval: 10 * time.Millisecond,
				BreakerResetTimeout: 100 * time.Millisecond})
			b.Cleanup(func() { fb.fail.Store(false) }) // runs before startTracker's Close
			const sessions = 4096
			names := make([]string, sessions)
			for i := range names {
				names[i] = "session-" + strconv.Itoa(i)
			}
			ids := make([]string, 1<<16)
			for i := range ids {
				ids[i] = strconv.Itoa(i)
			}
			var worker atomic.Uint64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				w := int(worker.Add(1))
				for i := 0; pb.Next(); i++ {
					// Each worker walks its own stride of sessions with new IDs.
					s := (w*7919 + i) % sessions
					_, _ = tr.Observe(names[s], ids[(i/sessions+w*13)&(len(ids)-1)])
				}
			})
		})
	}
}
