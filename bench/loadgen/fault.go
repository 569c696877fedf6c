package main

import (
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/lastevent/lastevent/backends/fault"
	"github.com/lastevent/lastevent/core"
)

// faultConfig is the faults a scenario injects between the tracker and the
// store, through backends/fault. The zero value injects none and adds no
// wrapper.
type faultConfig struct {
	Rate    float64       // -fault-rate: share of Store items failing, retryable
	Outage  time.Duration // -outage: every call fails for this long, from the middle of the run
	Latency time.Duration // -latency: added to every Store call
}

func (f *faultConfig) addFlags(fs *flag.FlagSet) {
	fs.Float64Var(&f.Rate, "fault-rate", 0, "share of checkpoints whose Store fails with a retryable error (0 to 1), injected by backends/fault")
	fs.DurationVar(&f.Outage, "outage", 0, "backend outage starting halfway through -duration: every call fails for this long (may run into Close; see -close-timeout)")
	fs.DurationVar(&f.Latency, "latency", 0, "latency added to every backend Store call")
}

func (f faultConfig) validate() error {
	switch {
	case !(f.Rate >= 0 && f.Rate <= 1):
		return fmt.Errorf("-fault-rate %v: must be between 0 and 1", f.Rate)
	case f.Outage < 0:
		return fmt.Errorf("-outage %v: must not be negative", f.Outage)
	case f.Latency < 0:
		return fmt.Errorf("-latency %v: must not be negative", f.Latency)
	}
	return nil
}

func (f faultConfig) enabled() bool { return f.Rate > 0 || f.Outage > 0 || f.Latency > 0 }

// wrap returns next behind the configured faults, or next itself (and a
// nil *fault.Backend) when there are none. The outage is timed from now:
// call wrap just before the run starts.
func (f faultConfig) wrap(next core.Backend, cfg config) (core.Backend, *fault.Backend) {
	if !f.enabled() {
		return next, nil
	}
	fb := fault.New(next, fault.Config{
		Seed:        cfg.Seed,
		ErrorRate:   f.Rate,
		Latency:     f.Latency,
		OutageAfter: cfg.Duration / 2,
		OutageFor:   f.Outage,
	})
	return fb, fb
}

// faultReport is the faults' part of the report; its fields are part of
// the JSON object.
type faultReport struct {
	FaultRate      float64 `json:"fault_rate"`
	OutageS        float64 `json:"outage_s"`
	AddedLatencyMS float64 `json:"added_latency_ms"`
	FaultsInjected uint64  `json:"faults_injected"`       // Store items failed by -fault-rate or the outage
	OutageCalls    uint64  `json:"outage_calls"`          // backend calls refused during the outage
	ItemsForwarded uint64  `json:"fault_items_passed_on"` // Store items the fault layer passed on to the store
}

func (f faultConfig) report(fb *fault.Backend) faultReport {
	r := faultReport{FaultRate: f.Rate, OutageS: f.Outage.Seconds(), AddedLatencyMS: float64(f.Latency) / float64(time.Millisecond)}
	if fb != nil {
		st := fb.Stats()
		r.FaultsInjected = st.InjectedItems()
		r.OutageCalls = st.OutageCalls
		r.ItemsForwarded = st.Forwarded
	}
	return r
}

// writeLine prints the faults' line under the table, if any were asked for.
func (r *faultReport) writeLine(w io.Writer) {
	if r.FaultRate == 0 && r.OutageS == 0 && r.AddedLatencyMS == 0 {
		return
	}
	fmt.Fprintf(w, "faults: -fault-rate %g, -outage %gs at mid-run, -latency %gms: %s checkpoints failed by injection, %s calls refused during the outage, %s passed on to the store\n",
		r.FaultRate, r.OutageS, r.AddedLatencyMS, group(r.FaultsInjected), group(r.OutageCalls), group(r.ItemsForwarded))
}
