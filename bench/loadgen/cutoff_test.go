package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/core"
)

// Before the cut calls pass; the cut ends a call in flight at once; after
// it every call fails at once, retryable, wrapping errCutOff.
func TestCutoffEndsCallsInFlightAndAfter(t *testing.T) {
	slow := newLatencyBackend(memory.New(), latencyRange{P5: time.Minute, P95: time.Minute}, 1)
	c := newCutoff(slow)
	defer c.release()
	res := make([]core.Result, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Store(context.Background(), []core.Checkpoint{{Session: "s", EventID: "1", Seq: 1}}, res)
	}()
	time.Sleep(20 * time.Millisecond) // let the Store start waiting its minute
	if !c.cutNow() || c.cutNow() {
		t.Fatal("cutNow: want true once, then false")
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a Store waiting a minute was not cut short")
	}
	if res[0].Outcome != core.OutcomeFailed || !errors.Is(res[0].Err, errCutOff) || !errors.Is(res[0].Err, core.ErrRetryable) {
		t.Errorf("Store in flight at the cut: got %+v, want failed, retryable, wrapping errCutOff", res[0])
	}
	c.Store(context.Background(), []core.Checkpoint{{Session: "s", EventID: "2", Seq: 2}}, res)
	if !errors.Is(res[0].Err, errCutOff) || c.refused.Load() != 1 {
		t.Errorf("Store after the cut: got %+v, %d refused; want errCutOff, 1", res[0], c.refused.Load())
	}
	if _, err := c.Load(context.Background(), []string{"s"}); !errors.Is(err, errCutOff) {
		t.Errorf("Load after the cut: got %v, want errCutOff", err)
	}
	if err := c.Delete(context.Background(), "s"); !errors.Is(err, errCutOff) {
		t.Errorf("Delete after the cut: got %v, want errCutOff", err)
	}
}

// mutexmap holds its lock while it writes every entry, so with 300
// sessions and a few milliseconds per call one save takes seconds and
// blocks every Observe and Close. The run must still end by its deadline
// (-duration + -close-timeout) plus a little, and say it was cut off and
// that Close failed; lastevent, same scenario, is not cut off.
func TestStuckBaselineIsCutOffAtTheDeadline(t *testing.T) {
	cfg := smallConfig()
	cfg.Sessions, cfg.Rate = 300, 20
	cfg.Duration, cfg.CloseTimeout = 400*time.Millisecond, 400*time.Millisecond
	cfg.StoreLatency = latencyRange{P5: 5 * time.Millisecond, P95: 20 * time.Millisecond}
	cfg.Impl = implMutexmap
	start := time.Now()
	r, err := run(context.Background(), cfg, io.Discard)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	t.Logf("mutexmap: run took %v; observed %d, dropped %d, Observe max %v, close %q",
		took, r.EventsObserved, r.EventsDroppedByGenerator, time.Duration(r.ObserveMaxNS), r.CloseError)
	if limit := cfg.Duration + cfg.CloseTimeout + 3*time.Second; took > limit {
		t.Errorf("run took %v, want at most %v (deadline plus setup)", took, limit)
	}
	if !r.CutAtDeadline || r.CloseError == "" || !strings.Contains(r.CloseError, "-close-timeout") {
		t.Fatalf("cut %v, close error %q: want cut at the deadline and Close reported failed", r.CutAtDeadline, r.CloseError)
	}
	if r.KeepingUp || r.EventsDroppedByGenerator == 0 {
		t.Errorf("keeping up %v, dropped %d: want the stall to drop events", r.KeepingUp, r.EventsDroppedByGenerator)
	}
	var table bytes.Buffer
	r.writeTable(&table)
	for _, want := range []string{"deadline: ", "cut off", "close: "} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}

	cfg.Impl = implLastevent
	r, err = run(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatalf("run lastevent: %v", err)
	}
	if r.CutAtDeadline || !r.CorrectnessOK {
		t.Errorf("lastevent: cut %v, correctness %v (%s, close %q): want neither cut nor failed", r.CutAtDeadline, r.CorrectnessOK, r.FirstFailure, r.CloseError)
	}
}
