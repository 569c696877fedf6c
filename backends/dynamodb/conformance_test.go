package dynamodb_test

import (
	"testing"

	"github.com/lastevent/lastevent/backends/backendtest"
	lastdynamo "github.com/lastevent/lastevent/backends/dynamodb"
	"github.com/lastevent/lastevent/core"
)

// Both modes against the core.Backend contract, each check on a table of
// its own. Batch mode is declared NotMonotonicAcrossCalls: BatchWriteItem
// takes no condition (TestBatchModeOverwritesWithoutCondition). Reopen
// opens a second Backend on the same table, as a second process would, so
// concurrent writers race through two handles and the condition in
// DynamoDB, not anything in-process, keeps each session's highest Seq.
// Corrupt writes items with malformed windows with a plain PutItem, as a
// foreign writer would.
func TestConformance(t *testing.T) {
	for _, mode := range []lastdynamo.Mode{lastdynamo.Conditional, lastdynamo.Batch} {
		t.Run(mode.String(), func(t *testing.T) {
			client := newClient(t) // skips, or fails under CI, without an endpoint
			backendtest.Run(t, backendtest.Harness{
				New: func(t *testing.T) core.Backend {
					return newBackend(t, client, newTable(t, client, lastdynamo.Config{Mode: mode}))
				},
				Reopen: func(t *testing.T, b core.Backend) core.Backend {
					return newBackend(t, client, b.(*lastdynamo.Backend).Config())
				},
				NotMonotonicAcrossCalls: mode == lastdynamo.Batch,
				Corrupt: func(t *testing.T, b core.Backend, c core.Checkpoint) {
					putRaw(t, client, b.(*lastdynamo.Backend).Config(), c)
				},
			})
		})
	}
}
