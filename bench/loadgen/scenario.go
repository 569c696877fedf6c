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

// run executes one scenario: it starts a Tracker on a checked memory
// backend, drives it with cfg's load for cfg.Duration (or until ctx ends),
// closes it, verifies what was persisted and returns the measurements.
// Progress lines and tracker warnings go to logw. An error means the
// scenario could not start; correctness failures are in the report.
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
	be, err := openStore(ctx, cfg, names) // backend.go: memory or DynamoDB
	if err != nil {
		return nil, err
	}
	defer be.close()
	faulty, fb := cfg.Faults.wrap(be, cfg) // fault.go: be itself unless -fault-rate, -outage or -latency
	chk := newCheckingBackend(faulty, cfg.Sessions)

	r, err := drive(ctx, cfg, sessions, chk, logw)
	if err != nil {
		return nil, err
	}

	r.BackendWrites, r.BackendStale = be.writesAndStale(chk)
	r.backendReport = be.report()
	r.faultReport = cfg.Faults.report(fb)
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

// drive owns the tracker's lifetime: it starts the tracker and the workers,
// measures the run, and closes the tracker.
func drive(ctx context.Context, cfg config, sessions []session, backend *checkingBackend, logw io.Writer) (*report, error) {
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

	// Every goroutine of our own starts before the measurement window.
	g := newGate()
	var wg sync.WaitGroup
	wg.Add(len(workers))
	for _, w := range workers {
		go func() {
			defer wg.Done()
			w.run(ctx, g, cfg.Duration)
		}()
	}
	prog := startProgress(logw, workers, t, backend, cfg.targetRate(), g)

	heapBefore := liveHeap() // no session exists yet
	createdBefore, haveCreated := goroutinesCreated()
	start := g.release()
	wg.Wait()
	elapsed := time.Since(start)
	createdAfter, _ := goroutinesCreated()
	prog.close()

	r := &report{
		Sessions:           len(sessions),
		RatePerSession:     cfg.Rate,
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
	}
	r.heapPre = heapPre
	heapRun := liveHeap() // the tracker still holds every session
	r.BytesPerSession = float64(int64(heapRun)-int64(heapBefore)) / float64(len(sessions))
	r.SessionsInTracker = t.Sessions()
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

	closeCtx, cancel := context.WithTimeout(context.Background(), cfg.CloseTimeout)
	defer cancel()
	closeStart := time.Now()
	if err := t.Close(closeCtx); err != nil {
		r.CloseError = err.Error()
	}
	r.CloseS = time.Since(closeStart).Seconds()
	watch.stop(&r.trackerReport)
	r.RejectedTooManySessions = c.tooMany
	r.ReplaysReacceptedEvicting = c.reaccepted
	r.WriteFailures = writeFailures.Load()
	return r, nil
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
