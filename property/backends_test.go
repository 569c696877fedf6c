package property

import (
	"context"
	"testing"
	"time"

	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/core"
)

// backendUnderTest is a store the state machine runs against.
type backendUnderTest struct {
	name string
	// open returns the backend for one command sequence. Sequences use
	// distinct session names, so a shared store needs no cleanup between them.
	open func(t *testing.T) core.Backend
	// casesScale is the percentage of -property.cases to run: a remote store
	// is slower per command.
	casesScale int
}

// backendsUnderTest lists the memory backend and, when its endpoint is
// configured, DynamoDB.
func backendsUnderTest(t *testing.T) []backendUnderTest {
	out := []backendUnderTest{{
		name:       "memory",
		open:       func(*testing.T) core.Backend { return memory.New() },
		casesScale: 100,
	}}
	if b, ok := dynamoBackend(t); ok {
		out = append(out, b)
	}
	return out
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
