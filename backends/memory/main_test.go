package memory_test

import (
	"testing"

	"go.uber.org/goleak"
)

// The conformance suite's ConcurrentStores starts writer goroutines; none
// may outlive the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
