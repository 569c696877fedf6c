// Package property holds lastevent's model-based verification suites. It has
// no API: everything is in its tests.
//
//   - TestTrackerStateMachine (gopter/commands) drives a shard.Tracker and a
//     plain sequential model with the same random command sequences —
//     Observe of new IDs, recent duplicates and IDs exactly at the window
//     edge, invalid input, LastEventID, Checkpoint, Flush, Resume, Delete,
//     backend faults, restarts and IdleTTL eviction — and after every command
//     checks that the stored Seq of a session never decreases, that every
//     dedup answer, Seq and LastEventID equals the model's, and that after
//     a successful Flush the backend holds exactly the model's newest
//     checkpoint of every session.
//     A failing sequence is shrunk to a short one and printed with the seed
//     that reproduces it.
//   - TestTrackerUnderMaxSessions (gopter) runs random scripts on a Tracker
//     with MaxSessions 4 and 8 sessions, where which session is evicted is
//     not determinate: the model keeps every state a session may be in and
//     fails an answer none explains.
//   - TestLinearizable* (porcupine) record histories of concurrent Observe,
//     LastEventID, Checkpoint, Resume or Delete, Flush and backend reads,
//     with and without a failing backend, and check them against a
//     per-session sequential model in which Delete resets the session.
//
// Reproduce a failure with the seed the test prints:
//
//	go test -race ./property -run '^TestTrackerStateMachine$' -property.seed=N
//
// or set LASTEVENT_PROPERTY_SEED=N. -property.cases sets the number of
// command sequences per backend; -property.evict=false leaves the Evict
// (IdleTTL) command out. When LASTEVENT_DYNAMODB_ENDPOINT is set the state
// machine also runs against DynamoDB at that endpoint.
// docs/testing.md describes every suite of the repository.
package property
