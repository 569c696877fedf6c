package main

import (
	"runtime"
	"runtime/metrics"
)

// goroutinesCreatedMetric counts every goroutine the process has started,
// including ones that already exited, so a delta over the run catches
// short-lived per-event or per-write goroutines that a live count would miss.
const goroutinesCreatedMetric = "/sched/goroutines-created:goroutines"

// goroutinesCreated returns the process's goroutine creation count, or
// false when the runtime does not export the metric.
func goroutinesCreated() (uint64, bool) {
	s := []metrics.Sample{{Name: goroutinesCreatedMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0, false
	}
	return s[0].Value.Uint64(), true
}

// liveHeap returns the bytes of live heap objects after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
