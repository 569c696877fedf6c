// Package backendtest is the conformance suite of the core.Backend
// contract: it runs the same checks against any backend, so the memory and
// DynamoDB backends and a backend of your own (Redis, SQL, ...) are held to
// one definition of correct.
//
// It is a test helper: it imports package testing, and only _test.go files
// should import it. Call Run from a test of the backend's package:
//
//	func TestConformance(t *testing.T) {
//		backendtest.Run(t, backendtest.Harness{
//			New: func(t *testing.T) core.Backend {
//				b := redisbackend.New(client, redisbackend.Config{Prefix: t.Name()})
//				t.Cleanup(func() { _ = b.Close() })
//				return b
//			},
//		})
//	}
//
// # Checks
//
// Run runs each check as a subtest with a backend of its own (Harness.New)
// and reports every way the backend departs from the contract with t.Error:
//
//   - Monotonic: Seq 5, 3, 7, another 7, 1 in separate Store calls keep 7;
//     the lower and equal ones are OutcomeStale, not errors.
//   - DuplicatesInOneBatch: a session named several times in one batch ends
//     at its highest Seq, that item is OutcomeWritten, and of two items with
//     the same Seq exactly one is written and it is the one stored.
//   - InvalidCheckpoints: an empty session or Seq 0 fails permanently and
//     writes nothing, without affecting the valid items of the batch.
//   - EndedContext: a Store whose context was cancelled or whose deadline
//     passed fails every item retryably, wrapping ctx.Err(), naming the
//     session and seq, and writes nothing.
//   - EveryResultFilled: a batch of 302 items over 100 sessions gets a
//     result in every slot (slots are pre-filled with garbage, so a backend
//     that skips one is seen); Store keeps no reference to the batch.
//   - Load: only present sessions are returned, exactly as stored, for one
//     session, repeats, several, 250, none and nil.
//   - Delete: deleting a missing session is not an error; after Delete the
//     session is absent, other sessions are untouched, and Seq 1 is written.
//   - ConcurrentStores: goroutines storing at once keep, per session, the
//     highest Seq any of them stored (run the suite with -race).
//   - RoundTrip: session names and event IDs of any valid UTF-8, at
//     core.MaxSessionBytes and core.DefaultMaxEventIDBytes, come back from
//     Load byte for byte, through a Load of one session and of many.
//
// Session names are unique per check and per Run call, so a Harness.New
// that returns a handle on a shared, persistent store (a Redis database
// that is not flushed between runs) works as well as a fresh one.
//
// # Concurrency
//
// Run runs the checks one after another; only ConcurrentStores calls the
// backend from several goroutines, which it starts and waits for. Harness.New
// and Harness.Reopen are called on the check's test goroutine, so they may
// call t.Fatal, t.Skip and t.Cleanup.
package backendtest
