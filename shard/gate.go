package shard

import (
	"context"
	"fmt"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/lastevent/lastevent/core"
)

// The gate: every call a shard makes into its backend — Store and Load from
// the flusher, Load from Resume, Delete from the flusher for Tracker.Delete
// — goes through gate, which
//
//   - asks the shard's breaker for admission (a refusal is an error wrapping
//     ErrBreakerOpen, and the backend is not called);
//   - bounds the call with Config.StoreTimeout under its parent context;
//   - turns a panic in the backend into an error wrapping core.ErrPermanent,
//     for every kind of call: a panic that rose to the flusher would end
//     persistence for every session of the shard, and the process;
//   - reports the outcome to the breaker and the call's latency to the
//     metrics.
//
// The three typed calls below are the only code that calls the backend.

// storeCall, loadCall and deleteCall name a gated call in errors.
const (
	storeCall  = "Store"
	loadCall   = "Load"
	deleteCall = "Delete"
)

// gate runs call through the shard's gate. call returns whether the backend
// failed in a way that counts against the breaker (it is down, throttling or
// timing out; a backend that answers "no" permanently is up). gate returns
// nil if call ran to its end, ErrBreakerOpen if it was not admitted, or the
// error a panic in it became.
func (s *shard) gate(parent context.Context, op string, latency *metrics.PrometheusHistogram, call func(ctx context.Context) (trips bool)) (err error) {
	report, err := s.breaker.allow()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(parent, s.cfg.StoreTimeout)
	defer cancel()
	began := time.Now()
	trips := false
	defer func() {
		if p := recover(); p != nil {
			// A permanent failure: the backend answered, so the breaker
			// counts it as up (as for a refused item).
			err, trips = fmt.Errorf("%w: backend %s panicked: %v", core.ErrPermanent, op, p), false
		}
		report(!trips)
		latency.UpdateDuration(began)
	}()
	trips = call(ctx)
	return nil
}

// store writes cps in one Backend.Store call through the gate and fills
// results. A call the gate refused or that panicked fails every item with
// that error.
func (s *shard) store(cps []core.Checkpoint, results []core.Result) {
	err := s.gate(s.parentCtx(), storeCall, s.metrics.storeDuration, func(ctx context.Context) bool {
		s.backend.Store(ctx, cps, results)
		return storeFailed(results)
	})
	if err != nil {
		for i := range results {
			results[i] = core.Result{Outcome: core.OutcomeFailed, Err: err}
		}
	}
}

// load reads the stored checkpoints of sessions through the gate. Each
// returned checkpoint still has to pass checkStored before it is adopted.
func (s *shard) load(parent context.Context, sessions []string) (stored map[string]core.Checkpoint, err error) {
	gateErr := s.gate(parent, loadCall, s.metrics.loadDuration, func(ctx context.Context) bool {
		stored, err = s.backend.Load(ctx, sessions)
		return err != nil && core.IsRetryable(err)
	})
	if gateErr != nil {
		return nil, gateErr
	}
	return stored, err
}

// deleteStored deletes session's stored checkpoint through the gate.
func (s *shard) deleteStored(parent context.Context, session string) (err error) {
	gateErr := s.gate(parent, deleteCall, s.metrics.deleteDuration, func(ctx context.Context) bool {
		err = s.backend.Delete(ctx, session)
		return err != nil && core.IsRetryable(err)
	})
	if gateErr != nil {
		return gateErr
	}
	return err
}
