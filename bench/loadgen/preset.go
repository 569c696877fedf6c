package main

import (
	"flag"
	"fmt"
	"slices"
	"strings"
)

// Scenarios -scenario names.
const (
	scenarioDefault   = "default"
	scenarioRealistic = "realistic"
)

// setting is one flag a preset sets, as it would be typed.
type setting struct{ flag, value string }

// preset is a named scenario: what it stands for, and the flags it sets on
// top of defaultConfig. A flag given explicitly wins over the preset's.
type preset struct {
	about    string
	settings []setting
}

// presets are the scenarios of -scenario.
//
// default is a small relay with steady load and a store that answers at
// once: it measures the per-event cost and the correctness checks, and
// nothing waits on I/O.
//
// realistic is a relay at scale in front of a cloud key-value store:
//   - 10,000 sessions;
//   - spiky sessions: each sends a burst of 5 events 20 ms apart, then
//     pauses, starting a burst every 5 s (1 event/s on average; sessions
//     start at random phases, so the total stays near 10k events/s, which
//     two cores sustain);
//   - every backend call waits a delay drawn from a log-normal distribution
//     with 90% of calls between 5 and 20 ms (median 10 ms, p99 about 27 ms,
//     clamped to [2.5 ms, 80 ms]), what a DynamoDB or Redis round trip across
//     a network costs: a log-normal because such latencies are skewed, with
//     a rare slow call, and not uniform (latency.go);
//   - 20 s long, and -close-timeout 10 s: a design that blocks on the store
//     is cut off 10 s after the measured window instead of hanging.
var presets = map[string]preset{
	scenarioDefault: {
		about: "100 sessions x 10 events/s, steady, 10% replays, 10s, a backend that answers at once: a small relay",
	},
	scenarioRealistic: {
		about: "10,000 sessions sending bursts (5 events 20ms apart every 5s: 1 event/s each on average), 10% replays, every backend call delayed 5-20ms (log-normal, 90% of calls in that range), 20s: a relay at scale in front of a cloud key-value store",
		settings: []setting{
			{"sessions", "10000"},
			{"rate", "1"},
			{"burst", "5"},
			{"burst-spacing", "20ms"},
			{"store-latency", "5ms-20ms"},
			{"duration", "20s"},
			{"close-timeout", "10s"},
		},
	},
}

// presetNames returns the scenario names, default first.
func presetNames() []string {
	names := make([]string, 0, len(presets))
	for name := range presets {
		if name != scenarioDefault {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return append([]string{scenarioDefault}, names...)
}

// applyPreset sets on fs every flag of scenario name's preset that is not
// in given (the flags set explicitly).
func applyPreset(fs *flag.FlagSet, name string, given map[string]bool) error {
	p, ok := presets[name]
	if !ok {
		return fmt.Errorf("-scenario %q: must be %s", name, strings.Join(presetNames(), " or "))
	}
	for _, s := range p.settings {
		if given[s.flag] {
			continue
		}
		if err := fs.Set(s.flag, s.value); err != nil {
			return fmt.Errorf("-scenario %s: -%s %s: %w", name, s.flag, s.value, err)
		}
	}
	return nil
}

// presetUsage describes every scenario for -h: what it is and the flags it
// stands for, wrapped to 76 columns.
func presetUsage() string {
	const indent = "             "
	var b strings.Builder
	for _, name := range presetNames() {
		p := presets[name]
		b.WriteString(wrap(fmt.Sprintf("  %-10s ", name), indent, strings.Fields(p.about)))
		if len(p.settings) > 0 {
			words := []string{"="}
			for _, s := range p.settings {
				words = append(words, "-"+s.flag+" "+s.value)
			}
			b.WriteString(wrap(indent, indent+"  ", words))
		}
	}
	return b.String()
}

// wrap joins words with spaces into lines of at most 76 columns, the first
// starting with first, the others with indent.
func wrap(first, indent string, words []string) string {
	var b strings.Builder
	line := first
	for i, w := range words {
		if i > 0 && len(line)+1+len(w) > 76 {
			b.WriteString(line + "\n")
			line = indent
		} else if i > 0 {
			line += " "
		}
		line += w
	}
	b.WriteString(line + "\n")
	return b.String()
}
