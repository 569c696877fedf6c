package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

// flagDefaults is the configuration without flags: defaultConfig and each
// flag's own default.
func flagDefaults(t *testing.T) config {
	t.Helper()
	cfg, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatalf("parseFlags(nil): %v", err)
	}
	return cfg
}

// realisticWant is what -scenario realistic must set.
func realisticWant(t *testing.T) config {
	t.Helper()
	want := flagDefaults(t)
	want.Scenario = scenarioRealistic
	want.Sessions, want.Rate, want.Burst, want.BurstSpacing = 10000, 1, 5, 20*time.Millisecond
	want.StoreLatency = latencyRange{P5: 5 * time.Millisecond, P95: 20 * time.Millisecond}
	want.Duration, want.CloseTimeout = 20*time.Second, 10*time.Second
	return want
}

func TestScenarioRealisticSetsItsValues(t *testing.T) {
	cfg, err := parseFlags([]string{"-scenario", "realistic"}, io.Discard)
	if err != nil {
		t.Fatalf("parseFlags(-scenario realistic): %v", err)
	}
	if want := realisticWant(t); cfg != want {
		t.Fatalf("-scenario realistic:\n got %+v\nwant %+v", cfg, want)
	}
	if cfg.Overrides != "" {
		t.Errorf("overrides: got %q, want none", cfg.Overrides)
	}
	// Still modest per core: 10k events/s in total, 1 per session.
	if got := cfg.targetRate(); got != 10000 {
		t.Errorf("target rate: got %v events/s, want 10000", got)
	}
	if got := cfg.burstPeriod(); got != 5*time.Second {
		t.Errorf("burst period: got %v, want 5s (a burst of 5 at 1 event/s)", got)
	}
}

// A flag given explicitly wins over the scenario's value, before or after
// -scenario on the command line; the scenario's other values still apply.
func TestScenarioExplicitFlagsOverride(t *testing.T) {
	for _, args := range [][]string{
		{"-scenario", "realistic", "-sessions", "50", "-store-latency", "", "-duration", "2s"},
		{"-sessions", "50", "-store-latency", "", "-duration", "2s", "-scenario", "realistic"},
	} {
		cfg, err := parseFlags(args, io.Discard)
		if err != nil {
			t.Fatalf("parseFlags(%q): %v", args, err)
		}
		want := realisticWant(t)
		want.Sessions, want.StoreLatency, want.Duration = 50, latencyRange{}, 2*time.Second
		want.Overrides = "-duration 2s -sessions 50 -store-latency "
		if cfg != want {
			t.Errorf("parseFlags(%q):\n got %+v\nwant %+v", args, cfg, want)
		}
	}
	// The default scenario is today's, and flags still change it.
	cfg, err := parseFlags([]string{"-scenario", "default", "-burst", "3"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := flagDefaults(t)
	want.Burst, want.Overrides = 3, "-burst 3"
	if cfg != want {
		t.Errorf("-scenario default -burst 3:\n got %+v\nwant %+v", cfg, want)
	}
}

func TestScenarioFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-scenario", "huge"}, "-scenario"},
		{[]string{"-burst", "0"}, "-burst"},
		{[]string{"-burst", "5", "-burst-spacing", "0s"}, "-burst-spacing"},
		{[]string{"-burst", "5", "-burst-spacing", "300ms", "-rate", "5"}, "-burst 5"}, // 1.2s bursts every 1s
		{[]string{"-store-latency", "20ms"}, "-store-latency"},
		{[]string{"-store-latency", "20ms-5ms"}, "-store-latency"},
		{[]string{"-store-latency", "0s-5ms"}, "-store-latency"},
		{[]string{"-store-latency", "5ms-x"}, "-store-latency"},
	} {
		if _, err := parseFlags(tc.args, io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseFlags(%q): got %v, want an error naming %s", tc.args, err, tc.want)
		}
	}
}

func TestUsageListsScenarios(t *testing.T) {
	var help bytes.Buffer
	if _, err := parseFlags([]string{"-h"}, &help); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: got %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{"default", "realistic", "-sessions 10000", "-store-latency 5ms-20ms", "-compare"} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("-h lacks %q:\n%s", want, help.String())
		}
	}
	for _, line := range strings.Split(presetUsage(), "\n") {
		if len(line) > 76 {
			t.Errorf("scenario usage line longer than 76 columns: %q", line)
		}
	}
}
