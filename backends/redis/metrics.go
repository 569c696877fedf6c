package redis

import (
	"strings"

	"github.com/VictoriaMetrics/metrics"
)

// Command indexes of meter's per-command counters.
const (
	cmdEvalSha = iota
	cmdScriptLoad
	cmdHMGet
	cmdDel
	numCmds
)

var cmdNames = [numCmds]string{"EVALSHA", "SCRIPT LOAD", "HMGET", "DEL"}

// Checkpoint outcomes of Store.
const (
	outWritten = iota
	outStale
	outFailed
	numOuts
)

var outNames = [numOuts]string{"written", "stale", "failed"}

// meter holds the backend's counters, created once in New so no call looks
// one up by name. Without Config.Metrics they live in a private Set nobody
// exports: counting costs an atomic add either way, and Stats reads them.
type meter struct {
	roundTrips  *metrics.Counter
	commands    [numCmds]*metrics.Counter
	checkpoints [numOuts]*metrics.Counter
	storeCalls  *metrics.Counter
	loadCalls   *metrics.Counter
	wrongType   *metrics.Counter
	errors      [2]*metrics.Counter // [0] retryable, [1] permanent
}

// Metric names, all prefixed lastevent_redis_:
//
//	lastevent_redis_round_trips_total{prefix}             pipelines and single commands sent
//	lastevent_redis_commands_total{prefix,cmd}            commands sent, by name (SCRIPT LOAD: after NOSCRIPT)
//	lastevent_redis_checkpoints_total{prefix,outcome}     Store items: written, stale, failed
//	lastevent_redis_store_calls_total{prefix}             Store calls that sent a command
//	lastevent_redis_load_calls_total{prefix}              Load calls that sent a command
//	lastevent_redis_wrong_type_keys_total{prefix}         keys of another type Load found (and reported absent)
//	lastevent_redis_errors_total{prefix,class}            failed commands (and invalid checkpoints), retryable or permanent
func newMeter(set *metrics.Set, prefix string) *meter {
	if set == nil {
		set = metrics.NewSet()
	}
	p := `prefix="` + labelEscaper.Replace(prefix) + `"`
	m := &meter{
		roundTrips: set.NewCounter(`lastevent_redis_round_trips_total{` + p + `}`),
		storeCalls: set.NewCounter(`lastevent_redis_store_calls_total{` + p + `}`),
		loadCalls:  set.NewCounter(`lastevent_redis_load_calls_total{` + p + `}`),
		wrongType:  set.NewCounter(`lastevent_redis_wrong_type_keys_total{` + p + `}`),
	}
	for i, name := range cmdNames {
		m.commands[i] = set.NewCounter(`lastevent_redis_commands_total{` + p + `,cmd="` + name + `"}`)
	}
	for i, name := range outNames {
		m.checkpoints[i] = set.NewCounter(`lastevent_redis_checkpoints_total{` + p + `,outcome="` + name + `"}`)
	}
	m.errors[0] = set.NewCounter(`lastevent_redis_errors_total{` + p + `,class="retryable"}`)
	m.errors[1] = set.NewCounter(`lastevent_redis_errors_total{` + p + `,class="permanent"}`)
	return m
}

// labelEscaper escapes a label value for the Prometheus text format.
var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// sent counts one round trip carrying n commands of cmd.
func (m *meter) sent(cmd, n int) {
	m.roundTrips.Inc()
	m.commands[cmd].Add(n)
}

// failure counts one failed command or item by class.
func (m *meter) failure(e *Error) {
	if e.Retryable {
		m.errors[0].Inc()
	} else {
		m.errors[1].Inc()
	}
}

// Stats counts what a Backend did. Checkpoints are counted once each, by
// outcome; RoundTrips counts each pipeline once, however many commands it
// carries (a ClusterClient sends it as one pipeline per master touched, in
// parallel).
type Stats struct {
	RoundTrips uint64 // pipelines and single commands sent
	// Commands sent, by name. SCRIPT LOAD is sent only after the server
	// answered NOSCRIPT (a restart, a failover, SCRIPT FLUSH): the script
	// is reloaded and the items it refused are sent again.
	EvalSha, ScriptLoads, HMGet, Del uint64
	StoreCalls                       uint64 // Store calls that sent a command
	LoadCalls                        uint64 // Load calls that sent a command
	// WrongType counts keys of another type that Load found under a
	// session's name and reported absent (see Backend.Load).
	WrongType              uint64
	Written, Stale, Failed uint64 // Store items by outcome
	// RetryableErrors and PermanentErrors count failed commands, and
	// invalid checkpoints (permanent), by class.
	RetryableErrors, PermanentErrors uint64
}

// Commands returns every command sent.
func (s Stats) Commands() uint64 { return s.EvalSha + s.ScriptLoads + s.HMGet + s.Del }

// Stats returns the counters. Each is read atomically; together they are
// not a snapshot while calls are in flight.
func (b *Backend) Stats() Stats {
	m := b.m
	return Stats{
		RoundTrips:      m.roundTrips.Get(),
		EvalSha:         m.commands[cmdEvalSha].Get(),
		ScriptLoads:     m.commands[cmdScriptLoad].Get(),
		HMGet:           m.commands[cmdHMGet].Get(),
		Del:             m.commands[cmdDel].Get(),
		StoreCalls:      m.storeCalls.Get(),
		LoadCalls:       m.loadCalls.Get(),
		WrongType:       m.wrongType.Get(),
		Written:         m.checkpoints[outWritten].Get(),
		Stale:           m.checkpoints[outStale].Get(),
		Failed:          m.checkpoints[outFailed].Get(),
		RetryableErrors: m.errors[0].Get(),
		PermanentErrors: m.errors[1].Get(),
	}
}
