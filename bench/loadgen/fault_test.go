package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/lastevent/lastevent/backends/memory"
)

// A run through -fault-rate and -latency, and one through an -outage in
// the middle, each lose nothing and regress nothing, and every injected
// failure reaches the tracker's OnError: none is silent. The two are
// separate runs so that no breaker probe meets a random fault: a failed
// probe waits out another reset timeout (5s) and the test would be slow,
// not wrong. The outage lasts a flush interval or two: it fails every
// shard's writes without opening the breakers (5 failed calls).
func TestRunWithFaults(t *testing.T) {
	for _, tc := range []struct {
		faults     faultConfig
		outage     bool
		tableEntry string
	}{
		{faultConfig{Rate: 0.2, Latency: time.Millisecond}, false, "faults: -fault-rate 0.2, -outage 0s at mid-run, -latency 1ms"},
		{faultConfig{Outage: 50 * time.Millisecond}, true, "faults: -fault-rate 0, -outage 0.05s at mid-run, -latency 0ms"},
	} {
		cfg := smallConfig()
		cfg.Faults = tc.faults
		r, err := run(context.Background(), cfg, io.Discard)
		if err != nil {
			t.Fatalf("%+v: run: %v", tc.faults, err)
		}
		t.Logf("%+v: %d injected, %d outage calls, close took %.2fs", tc.faults, r.FaultsInjected, r.OutageCalls, r.CloseS)
		if !r.CorrectnessOK || r.SessionsLost != 0 || r.CheckpointRegressions != 0 || r.CloseError != "" {
			t.Fatalf("%+v: correctness %v, lost %d, regressions %d, close %q (first failure: %s)",
				tc.faults, r.CorrectnessOK, r.SessionsLost, r.CheckpointRegressions, r.CloseError, r.FirstFailure)
		}
		if r.FaultsInjected == 0 || (r.OutageCalls > 0) != tc.outage {
			t.Fatalf("%+v: faults injected %d, outage calls %d", tc.faults, r.FaultsInjected, r.OutageCalls)
		}
		if r.WriteFailures != r.FaultsInjected {
			t.Errorf("%+v: write failures seen by OnError: got %d, want the %d injected", tc.faults, r.WriteFailures, r.FaultsInjected)
		}
		if r.FaultRate != tc.faults.Rate || r.OutageS != tc.faults.Outage.Seconds() || r.AddedLatencyMS != float64(tc.faults.Latency)/1e6 {
			t.Errorf("%+v: report says rate %v, outage %vs, latency %vms", tc.faults, r.FaultRate, r.OutageS, r.AddedLatencyMS)
		}

		var table bytes.Buffer
		r.writeTable(&table)
		if !strings.Contains(table.String(), tc.tableEntry) {
			t.Errorf("%+v: table lacks %q:\n%s", tc.faults, tc.tableEntry, table.String())
		}
		var out bytes.Buffer
		if err := r.writeJSON(&out); err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{"fault_rate", "outage_s", "added_latency_ms", "faults_injected", "outage_calls", "fault_items_passed_on"} {
			if _, ok := got[key]; !ok {
				t.Errorf("JSON key %q: missing", key)
			}
		}
	}
}

func TestFaultFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"-fault-rate", "0.25", "-outage", "2s", "-latency", "3ms"}, io.Discard)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if want := (faultConfig{Rate: 0.25, Outage: 2 * time.Second, Latency: 3 * time.Millisecond}); cfg.Faults != want {
		t.Errorf("parsed faults: got %+v, want %+v", cfg.Faults, want)
	}
	for _, args := range [][]string{{"-fault-rate", "1.5"}, {"-fault-rate", "-0.1"}, {"-outage", "-1s"}, {"-latency", "-1ms"}} {
		if _, err := parseFlags(args, io.Discard); err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("parseFlags(%q): got %v, want an error naming %s", args, err, args[0])
		}
	}
	// No fault flag: the store is not wrapped, so the default run measures
	// exactly what it did before.
	mem := memory.New()
	if b, fb := (faultConfig{}).wrap(mem, defaultConfig()); b != mem || fb != nil {
		t.Errorf("wrap without faults: got %T, %v, want the store itself", b, fb)
	}
}
