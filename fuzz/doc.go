// Package fuzz holds lastevent's go test -fuzz targets. It has no API:
// everything is in its tests.
//
//   - FuzzSlot: core.Slot against an exact model of the dedup window (the
//     last W accepted hashes), for any window size, any sequence of fresh
//     IDs, replays, IDs exactly at the window edge, crafted colliding hash
//     buckets and a resumed start — through every ring growth.
//   - FuzzTracker: a shard.Tracker driven by an operation script decoded
//     from the input, on a fault-injecting backend (backends/fault), against
//     a sequential model; the backend must end up holding exactly the
//     model's newest checkpoint of every session, and no stored checkpoint
//     may ever move backwards.
//   - FuzzValidate: arbitrary bytes as session and event IDs through
//     Observe and Resume: accepted, or a core sentinel error that an
//     independent oracle predicts, never a panic, nothing changed on error.
//
// Plain `go test` runs every seed corpus entry (testdata/fuzz/<Target>/).
// `make fuzz FUZZTIME=30s` fuzzes every Fuzz target of the module in turn;
// a failure is written to testdata/fuzz/<Target>/ and reproduced by
//
//	go test ./fuzz -run '^FuzzSlot$/^<file>$'
//
// docs/testing.md describes every suite of the repository.
package fuzz
