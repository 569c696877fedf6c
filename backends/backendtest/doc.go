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
//     the same Seq exactly one is written and it is the one stored, with
//     its own window.
//   - InvalidCheckpoints: an empty session or Seq 0 fails permanently and
//     writes nothing, without affecting the valid items of the batch. So
//     does a window that fails core.Checkpoint.CheckWindow (torn, newest
//     hash not EventID's, a repeated hash, more hashes than Seq or than
//     core.MaxWindow); that error also wraps core.ErrInvalidWindow and
//     names the session and seq, and the checkpoint stored before stays.
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
//     highest Seq any of them stored, with that checkpoint's window (run
//     the suite with -race).
//   - RoundTrip: session names and event IDs of any valid UTF-8, at
//     core.MaxSessionBytes and core.DefaultMaxEventIDBytes, come back from
//     Load byte for byte, through a Load of one session and of many.
//   - WindowRoundTrip: windows of 1, 2, 32 and 4096 hashes (32 KiB), one of
//     bytes naive encoders mangle (NUL, CR, LF, 0xff, not UTF-8), and no
//     window at all come back from Load byte for byte, through a Load of
//     one session and of many.
//   - WindowReplaced: each newer checkpoint replaces the stored window
//     wholesale, shorter, longer or large; one without a window leaves none
//     (Load returns Window ""); within one batch, an older item's window
//     does not land.
//   - WindowStale: an equal or lower Seq, with another window or none,
//     leaves the stored window untouched: the window is written under the
//     same condition as the Seq.
//   - CorruptWindow, only with Harness.Corrupt: a stored window that fails
//     CheckWindow, written around the backend, makes a Load naming its
//     session (alone or with others) fail with an error wrapping
//     core.ErrPermanent and core.ErrInvalidWindow that names it, without a
//     panic; other sessions still load, and a newer Store repairs it.
//
// Every comparison of a loaded checkpoint is of the whole value, Window
// included, and failures show a window as its hash count, newest hash and
// a digest.
//
// Session names are unique per check and per Run call, so a Harness.New
// that returns a handle on a shared, persistent store (a Redis database
// that is not flushed between runs) works as well as a fresh one.
//
// # Concurrency
//
// Run runs the checks one after another; only ConcurrentStores calls the
// backend from several goroutines, which it starts and waits for.
// Harness.New, Harness.Reopen and Harness.Corrupt are called on the check's
// test goroutine, so they may call t.Fatal, t.Skip and t.Cleanup.
package backendtest
