//go:build !race

package sserelay_test

const raceEnabled = false
