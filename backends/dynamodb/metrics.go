package dynamodb

import (
	"github.com/VictoriaMetrics/metrics"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Operation indexes of meter's per-operation counters.
const (
	opUpdateItem = iota
	opBatchWriteItem
	opGetItem
	opBatchGetItem
	opDeleteItem
	numOps
)

var opNames = [numOps]string{"UpdateItem", "BatchWriteItem", "GetItem", "BatchGetItem", "DeleteItem"}

// Call outcomes: ok, stale (a refused condition, UpdateItem only), error.
const (
	outcomeOK = iota
	outcomeStale
	outcomeError
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"ok", "stale", "error"}

// meter holds the backend's counters, created once in New so the request
// path never looks one up by name. Without Config.Metrics they live in a
// private Set nobody exports: counting costs an atomic add either way, and
// the request path has no branches for it.
type meter struct {
	calls       [numOps][numOutcomes]*metrics.Counter
	throttles   [numOps]*metrics.Counter
	capacity    [numOps]*metrics.FloatCounter
	unprocItems *metrics.Counter
	unprocKeys  *metrics.Counter
}

// Metric names, all prefixed lastevent_dynamodb_:
//
//	lastevent_dynamodb_calls_total{table,op,outcome}            requests by result
//	lastevent_dynamodb_throttles_total{table,op}                 throttled requests (after the SDK's own retries)
//	lastevent_dynamodb_consumed_capacity_units_total{table,op}   capacity units DynamoDB reported
//	lastevent_dynamodb_unprocessed_items_total{table}            items a BatchWriteItem left unprocessed
//	lastevent_dynamodb_unprocessed_keys_total{table}             keys a BatchGetItem left unprocessed
func newMeter(set *metrics.Set, table string) *meter {
	if set == nil {
		set = metrics.NewSet()
	}
	t := `table="` + table + `"` // validate allows no quote or backslash in a table name
	m := &meter{
		unprocItems: set.NewCounter(`lastevent_dynamodb_unprocessed_items_total{` + t + `}`),
		unprocKeys:  set.NewCounter(`lastevent_dynamodb_unprocessed_keys_total{` + t + `}`),
	}
	for op, name := range opNames {
		l := t + `,op="` + name + `"`
		for o, outcome := range outcomeNames {
			if o == outcomeStale && op != opUpdateItem {
				continue // only a conditional write can be stale
			}
			m.calls[op][o] = set.NewCounter(`lastevent_dynamodb_calls_total{` + l + `,outcome="` + outcome + `"}`)
		}
		m.throttles[op] = set.NewCounter(`lastevent_dynamodb_throttles_total{` + l + `}`)
		m.capacity[op] = set.NewFloatCounter(`lastevent_dynamodb_consumed_capacity_units_total{` + l + `}`)
	}
	return m
}

// call counts one request of op that ended with err (nil for success);
// stale marks a refused condition.
func (m *meter) call(op int, err error, stale bool) {
	switch {
	case stale:
		m.calls[op][outcomeStale].Inc()
	case err == nil:
		m.calls[op][outcomeOK].Inc()
	default:
		m.calls[op][outcomeError].Inc()
		if isThrottle(err) {
			m.throttles[op].Inc()
		}
	}
}

// consumed adds the capacity units a response reported.
func (m *meter) consumed(op int, cc ...types.ConsumedCapacity) {
	for _, c := range cc {
		if c.CapacityUnits != nil {
			m.capacity[op].Add(*c.CapacityUnits)
		}
	}
}
