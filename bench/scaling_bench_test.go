package bench

import (
	"sync"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
)

// Per goroutine and round of BenchmarkObserveScaling: Observe calls, and
// hashes of the control. Each round lasts a few milliseconds: waking a
// parked goroutine on another core takes tens of microseconds on a VM, and
// must stay well under 1% of a round, while rounds stay short enough that a
// serial round and a parallel round see about the same machine.
const (
	scalingChunk = 1 << 16
	controlChunk = 1 << 20
)

// BenchmarkObserveScaling measures how Observe scales from one goroutine to
// two on disjoint sessions, in one run: rounds alternate between one
// goroutine sending 2·scalingChunk events (half to each half of the
// sessions) and two goroutines sending scalingChunk each, one per half, at
// the same time. scaling is serial time over parallel time for the same
// work (2.0 is perfect). The same alternation over pure CPU work (hashing,
// no shared writes, no allocation) gives control-scaling: what the machine
// itself offered two goroutines during the run, so a shared machine's
// noise shows up in both. Run with GOMAXPROCS >= 2.
//
//	go test -run '^$' -bench ObserveScaling -count 6 ./bench
func BenchmarkObserveScaling(b *testing.B) {
	sessions := sessionNames(manySessions)
	halves := [2][]string{sessions[:len(sessions)/2], sessions[len(sessions)/2:]}
	for _, c := range cases {
		b.Run("case="+c, func(b *testing.B) {
			tr := newTracker(b, sessions)
			fresh := [2][]string{eventIDs(0, newPool), eventIDs(newPool, newPool)}
			next := [2]int{}
			observe := func(half, n int) {
				ss, ids, k := halves[half], fresh[half], next[half] // locals: the halves share no line
				for i := range n {
					id := warmIDs[i&(window-1)]
					if c == "new" {
						id = ids[k&(newPool-1)]
						k++
					}
					if _, err := tr.Observe(ss[i%len(ss)], id); err != nil {
						panic(err)
					}
				}
				next[half] = k
			}
			var sum [2]uint64
			hash := func(half, n int) {
				h := sum[half]
				for i := range n {
					h += xxhash.Sum64String(controlKey) + uint64(i)
				}
				sum[half] = h
			}
			sc, ctl := scaling(b, scalingChunk, observe), scaling(b, controlChunk, hash)
			sink += sum[0] + sum[1]
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(sc, "scaling")
			b.ReportMetric(ctl, "control-scaling")
		})
	}
}

// scaling runs b.N alternating rounds of work (see BenchmarkObserveScaling)
// and returns serial time over parallel time. work(half, n) does n events
// on one half of the sessions; the two halves never share a session.
func scaling(b *testing.B, chunk int, work func(half, n int)) float64 {
	var serial, parallel time.Duration
	start := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	var done sync.WaitGroup
	var workers sync.WaitGroup
	for half := range 2 {
		workers.Go(func() {
			for range start[half] {
				work(half, chunk)
				done.Done()
			}
		})
	}
	for range b.N {
		t0 := time.Now()
		work(0, chunk)
		work(1, chunk)
		serial += time.Since(t0)

		done.Add(2)
		t0 = time.Now()
		start[0] <- struct{}{}
		start[1] <- struct{}{}
		done.Wait()
		parallel += time.Since(t0)
	}
	close(start[0])
	close(start[1])
	workers.Wait()
	return serial.Seconds() / parallel.Seconds()
}
