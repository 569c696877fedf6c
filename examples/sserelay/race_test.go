//go:build race

package sserelay_test

// raceEnabled builds the commands with -race when the tests run with it.
const raceEnabled = true
