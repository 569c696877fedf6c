// Package testmodel holds the test support shared by the model-based suites
// (fuzz/ and property/): the exact sequential specification of one
// session's deduplication and numbering (Session), and the caller's side of
// the circuit-breaker contract for Resume and Delete (Resume, Delete). It is ordinary code, not
// _test.go files, so that test files of several packages can import it; no
// library package imports it.
package testmodel
