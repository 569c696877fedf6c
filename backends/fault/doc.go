// Package fault is a chaos-testing kit for lastevent backends: Backend
// wraps any core.Backend and injects failures drawn from a seeded random
// source, and Checker wraps the real store and proves afterwards that no
// checkpoint was lost and none moved backwards.
//
//	store := memory.New()                 // or the real backend under test
//	chk := fault.NewChecker(store)        // next to the store: sees real writes
//	fb := fault.New(chk, fault.Config{Seed: 1, ErrorRate: 0.1, ThrottleRate: 0.05})
//	t, _ := shard.New(fb, shard.Config{})
//	// ... t.Observe under load; fb.StartOutage(5*time.Second) ...
//	fb.Set(fault.Config{})                // recover
//	_ = t.Flush(ctx)
//	err := chk.Verify(ctx, want)          // want: each session's last accepted checkpoint
//
// # Faults
//
// Config sets each independently: single Store items failing (retryable or
// permanent), throttled Store calls (ErrThrottled), added latency with
// jitter (waited on a timer or ctx, never slept), partial batches whose tail
// is unprocessed (ErrUnprocessed), writes applied whose reply is lost
// (ErrReplyLost), slow and failing Load, failing Delete, and outages during
// which every call fails (ErrOutage): scheduled by Config or started and
// ended by StartOutage and EndOutage, timed by an injectable clock
// (Config.Now) so tests need not sleep. Set changes the faults at run time.
// Every injected failure wraps ErrInjected and core.ErrRetryable or
// core.ErrPermanent, and names the session and seq; every Store result is
// filled, as the core.Backend contract requires. Stats counts each fate.
//
// # Determinism
//
// Faults come from one PCG source seeded by Config.Seed, drawn in a fixed
// order per call under a mutex. The same calls in the same order meet the
// same faults; concurrent callers (a tracker's flushers) meet them in the
// order they reach the lock, so counts are reproducible in distribution
// rather than exactly.
//
// # Concurrency
//
// Backend and Checker are safe for concurrent use, start no goroutines and
// need no Close. Neither may be copied after first use.
package fault
