package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/shard"
)

// maxTimedPerSecond bounds how many Observe calls per second are timed.
// Timing costs two clock reads; past this rate every 2^k-th call is timed,
// which still yields hundreds of thousands of samples per second.
const maxTimedPerSecond = 250_000

// run executes one scenario: it starts a Tracker (or, with cfg.Impl, a
// baseline) on a checked store, drives it with cfg's load for cfg.Duration
// (or until ctx ends), closes it, verifies what was persisted and returns
// the measurements. Progress lines and tracker warnings go to logw. An error
// means the scenario could not start, or could not be ended (drive);
// correctness failures are in the report.
//
// The store sits under these layers, top down: the checking backend
// (regressions, checkbackend.go), the cutoff that ends a run at its deadline
// (cutoff.go), backends/fault with -fault-rate, -outage or -latency
// (fault.go), and the -store-latency delays (latency.go).
func run(ctx context.Context, cfg config, logw io.Writer) (*report, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	// Everything the load generator itself keeps is allocated before drive
	// takes the memory baseline, so the heap delta is the tracker's and the
	// backend's.
	sessions := make([]session, cfg.Sessions)
	names := make([]string, cfg.Sessions)
	for i := range sessions {
		sessions[i].name = sessionName(i)
		names[i] = sessions[i].name
	}
	be, err := openStore(ctx, cfg, names) // backend.go: memory, DynamoDB or Redis
	if err != nil {
		return nil, err
	}
	defer be.close()
	slow, lb := wrapLatency(be, cfg)         // latency.go: be itself unless -store-latency
	faulty, fb := cfg.Faults.wrap(slow, cfg) // fault.go: slow itself unless -fault-rate, -outage or -latency
	cut := newCutoff(faulty)
	defer cut.release()
	chk := newCheckingBackend(cut, cfg.Sessions)

	r, err := drive(ctx, cfg, sessions, chk, cut, logw)
	if err != nil {
		return nil, err
	}

	r.BackendWrites, r.BackendStale = be.writesAndStale(chk)
	r.backendReport = be.report()
	r.faultReport = cfg.Faults.report(fb)
	r.latencyReport = lb.report()
	r.CutOffCalls = cut.refused.Load()
	r.StoreCalls = chk.storeCalls.Load()
	r.CheckpointRegressions = chk.regressions.Load()
	r.UnknownSessionWrites = chk.unknown.Load()
	r.setCoalescing(cfg.FlushInterval)

	get, err := be.stored(names)
	if err != nil {
		return nil, err
	}
	lost, firstLost := verifyPersisted(sessions, get)
	r.SessionsLost = lost
	r.PersistenceSuccessRatio = float64(cfg.Sessions-lost) / float64(cfg.Sessions)
	if r.FirstFailure == "" {
		r.FirstFailure = firstLost
	}

	// drive has returned, so the closed tracker and the workers are garbage:
	// what the heap gained since before the tracker is the memory backend's
	// checkpoints. The rest of the growth during the run was the tracker's.
	r.BackendBytesPerSession = float64(int64(liveHeap())-int64(r.heapPre)) / float64(cfg.Sessions)
	r.TrackerBytesPerSession = r.BytesPerSession - r.BackendBytesPerSession
	runtime.KeepAlive(sessions) // they were in the heapPre baseline too
	runtime.KeepAlive(chk)      // and chk holds the backend
	r.evaluate()
	return r, nil
}

// cutGrace bounds how long drive waits, after the cut, for the workers and
// the end of the run: every backend call then fails at once, so whatever
// was blocked on the store returns within a few milliseconds. Past it, the
// system is not blocked on the store but broken, and drive gives up.
const cutGrace = 10 * time.Second

// drive owns the system's lifetime: it starts the tracker (or baseline) and
// the workers, measures the run, and closes the system.
//
// The run is bounded even when the system is not. Its deadline is
// cfg.CloseTimeout after the end of the measured window: by then the
// workers must have returned (they stop about maxLag after cfg.Duration,
// unless an Observe blocks) and Close must have returned (its context ends
// at the deadline). At the deadline cut cuts every backend call short, which
// releases a system that blocks on its store (mutexmap holds its lock while
// it writes); the report says so. Only a system still blocked cutGrace after
// that makes drive return an error.
func drive(ctx context.Context, cfg config, sessions []session, backend *checkingBackend, cut *cutoff, logw io.Writer) (*report, error) {
	heapPre := liveHeap()
	var writeFailures atomic.Uint64
	t, err := startSystem(cfg, backend, shard.Config{
		Shards:        cfg.Shards,
		Window:        cfg.Window,
		FlushInterval: cfg.FlushInterval,
		OnError:       func(shard.WriteFailure) { writeFailures.Add(1) },
		Logger:        slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelWarn})),
		MaxSessions:   cfg.Tracker.MaxSessions,
		IdleTTL:       cfg.Tracker.IdleTTL,
	})
	if err != nil {
		return nil, err
	}
	watch, err := startWatch(cfg.Tracker, t) // tracker.go: flush lag sampling, -metrics-addr
	if err != nil {
		_ = t.Close(context.Background())
		return nil, err
	}

	sampleEvery := uint64(1)
	for float64(sampleEvery)*maxTimedPerSecond < cfg.targetRate() {
		sampleEvery <<= 1
	}
	nWorkers := cfg.Workers
	if nWorkers == 0 {
		nWorkers = runtime.GOMAXPROCS(0)
	}
	nWorkers = min(nWorkers, len(sessions))
	workers := make([]*worker, nWorkers)
	for i := range workers {
		// Even chunks; none is empty because nWorkers <= len(sessions).
		lo, hi := i*len(sessions)/nWorkers, (i+1)*len(sessions)/nWorkers
		workers[i] = newWorker(sessions[lo:hi:hi], t, cfg, sampleEvery-1, i)
	}

	// Every goroutine of our own starts before the measurement window,
	// including the one that reports when the workers are done.
	g := newGate()
	var wg sync.WaitGroup
	wg.Add(len(workers))
	for _, w := range workers {
		go func() {
			defer wg.Done()
			w.run(ctx, g, cfg.Duration)
		}()
	}
	workersDone := make(chan struct{})
	go func() {
		wg.Wait()
		close(workersDone)
	}()
	prog := startProgress(logw, workers, t, backend, cfg.targetRate(), g)

	heapBefore := liveHeap() // no session exists yet
	createdBefore, haveCreated := goroutinesCreated()
	start := g.release()
	deadline := start.Add(cfg.Duration + cfg.CloseTimeout)
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	var stalled bool // the workers were still in Observe at the deadline
	var createdAfter uint64
	select {
	case <-workersDone:
		createdAfter, _ = goroutinesCreated()
	case <-timer.C:
		stalled = true
		// Read before the cut, which starts goroutines of our own (the
		// context.AfterFunc of each call in flight).
		createdAfter, _ = goroutinesCreated()
		cut.cutNow()
		if !waitFor(workersDone, cutGrace) {
			return nil, fmt.Errorf("%s: workers still blocked in Observe %v after every backend call was cut short at the deadline", implName(cfg), cutGrace)
		}
	}
	elapsed := time.Since(start)
	heapRun := liveHeap() // the tracker still holds every session

	// The rest may block on a system stuck on its store (the progress line
	// and Sessions take mutexmap's lock), so it runs aside, bounded by the
	// same deadline.
	type ending struct {
		sessions int
		closeErr error
		closeS   float64
	}
	ended := make(chan ending, 1)
	closeCtx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	go func() {
		prog.close()
		var e ending
		e.sessions = t.Sessions()
		closeStart := time.Now()
		e.closeErr = t.Close(closeCtx)
		e.closeS = time.Since(closeStart).Seconds()
		ended <- e
	}()
	var e ending
	deadlineC, graceC := timer.C, (<-chan time.Time)(nil)
	if stalled { // the deadline has passed and the cut is made
		deadlineC, graceC = nil, time.After(cutGrace)
	}
	for waiting := true; waiting; {
		select {
		case e = <-ended:
			waiting = false
		case <-deadlineC:
			cut.cutNow()
			deadlineC, graceC = nil, time.After(cutGrace)
		case <-graceC:
			return nil, fmt.Errorf("%s: Close still blocked %v after every backend call was cut short at the deadline", implName(cfg), cutGrace)
		}
	}

	r := &report{
		Scenario:           cfg.Scenario,
		Overrides:          cfg.Overrides,
		Sessions:           len(sessions),
		RatePerSession:     cfg.Rate,
		Burst:              cfg.Burst,
		TargetRate:         cfg.targetRate(),
		DurationS:          cfg.Duration.Seconds(),
		ElapsedS:           elapsed.Seconds(),
		DupRatio:           cfg.DupRatio,
		Window:             cfg.Window,
		Shards:             shardsOf(t),
		FlushIntervalMS:    float64(cfg.FlushInterval) / float64(time.Millisecond),
		Workers:            len(workers),
		GOMAXPROCS:         runtime.GOMAXPROCS(0),
		ObserveSampleEvery: sampleEvery,
		CloseTimeoutS:      cfg.CloseTimeout.Seconds(),
	}
	if cfg.Burst > 1 {
		r.BurstSpacingMS = float64(cfg.BurstSpacing) / float64(time.Millisecond)
		r.BurstPeriodS = cfg.burstPeriod().Seconds()
	}
	r.heapPre = heapPre
	r.BytesPerSession = float64(int64(heapRun)-int64(heapBefore)) / float64(len(sessions))
	r.SessionsInTracker = e.sessions
	if haveCreated {
		r.GoroutinesCreated = createdAfter - createdBefore
		r.GoroutinesCreatedPerSec = float64(r.GoroutinesCreated) / elapsed.Seconds()
	} else {
		r.GoroutinesCreatedPerSec = -1
	}

	var c counts
	var h histogram
	for _, w := range workers {
		c.add(w.counts)
		h.merge(&w.hist)
		if r.FirstFailure == "" {
			r.FirstFailure = w.failure
		}
	}
	r.setCounts(c, elapsed)
	r.setLatency(&h)

	r.CloseS = e.closeS
	r.WorkersStalled = stalled
	r.CutAtDeadline = cut.cut.Load()
	switch {
	case r.CutAtDeadline && e.closeErr != nil:
		r.CloseError = fmt.Sprintf("not done within -close-timeout %v: backend calls cut short at the deadline: %v", cfg.CloseTimeout, e.closeErr)
	case e.closeErr != nil:
		r.CloseError = e.closeErr.Error()
	}
	watch.stop(&r.trackerReport)
	r.RejectedTooManySessions = c.tooMany
	r.ReplaysReacceptedEvicting = c.reaccepted
	r.WriteFailures = writeFailures.Load()
	return r, nil
}

// waitFor reports whether done is closed within d.
func waitFor(done <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// implName names the implementation cfg drives.
func implName(cfg config) string {
	if cfg.Impl == "" {
		return implLastevent
	}
	return cfg.Impl
}

// verifyPersisted compares each session's stored checkpoint with the last
// event the tracker accepted for it: same event ID, Seq equal to the number
// of events accepted, and a stored window that belongs to that ID
// (core.Checkpoint.CheckWindow). A session that accepted nothing must have
// no checkpoint. It returns how many sessions differ and a description of
// the first.
func verifyPersisted(sessions []session, get func(string) (core.Checkpoint, bool)) (lost int, first string) {
	for i := range sessions {
		s := &sessions[i]
		got, ok := get(s.name)
		var want core.Checkpoint
		if s.accepted > 0 {
			want = core.Checkpoint{Session: s.name, EventID: strconv.FormatUint(s.lastAccepted, 10), Seq: s.accepted}
		}
		if ok == (s.accepted > 0) && got.CheckWindow() == nil &&
			got.Session == want.Session && got.EventID == want.EventID && got.Seq == want.Seq {
			continue
		}
		lost++
		if first == "" {
			first = fmt.Sprintf("session %s: stored %+v (present %v), want %+v", s.name, got, ok, want)
		}
	}
	return lost, first
}
