package fault_test

import (
	"testing"

	"github.com/lastevent/lastevent/backends/backendtest"
	"github.com/lastevent/lastevent/backends/fault"
	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/core"
)

// TestConformance: with no fault configured, the wrapper and the checker
// are transparent: the pair still keeps the core.Backend contract.
func TestConformance(t *testing.T) {
	backendtest.Run(t, backendtest.Harness{New: func(*testing.T) core.Backend {
		return fault.New(fault.NewChecker(memory.New()), fault.Config{Seed: 1})
	}})
}
