package bench

import (
	"strconv"
	"testing"

	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/shard"
)

// persistWindows are the Config.PersistWindow values BenchmarkFlushWindow
// compares: off (the checkpoint carries only its ID), the default, and the
// whole default window.
var persistWindows = []int{shard.PersistWindowOff, core.DefaultPersistWindow, core.DefaultWindow}

// BenchmarkFlushWindow measures what persisting the recent window costs a
// write: Flushes to the memory backend with windows of 0, 32 and 128
// hashes, one Flush of each per iteration (interleaved, so machine load
// hits all alike). It reports each one's ns per checkpoint written and its
// ratio to persisting none. The window is snapshot under the writer flag
// and encoded once per write; Observe does not touch it.
//
//	go test -run '^$' -bench FlushWindow -benchmem -count 6 ./bench
func BenchmarkFlushWindow(b *testing.B) {
	targets := make([]*flushTarget, len(persistWindows))
	for i, k := range persistWindows {
		targets[i] = startFlushTarget(b, memory.New(), shard.Config{PersistWindow: k})
		// Fill each session's window, so the snapshot copies K hashes.
		for range core.DefaultWindow {
			targets[i].dirty(b)
		}
		targets[i].flush(b)
		targets[i].timed.reset()
		targets[i].elapsed = 0
	}
	b.ReportAllocs()
	runInterleaved(b, targets)
	per := make([]float64, len(targets))
	for i, ft := range targets {
		per[i] = float64(ft.elapsed.Nanoseconds()) / float64(b.N*flushSessions)
		name := "off"
		if persistWindows[i] > 0 {
			name = strconv.Itoa(persistWindows[i])
		}
		b.ReportMetric(per[i], "ns/checkpoint-persist="+name)
		if i > 0 {
			b.ReportMetric(per[i]/per[0], "persist="+name+"/off")
		}
	}
	b.ReportMetric(0, "ns/op")
}
