package promtext

import (
	"testing"

	"github.com/VictoriaMetrics/metrics"
)

func TestSamples(t *testing.T) {
	set := metrics.NewSet()
	set.NewCounter(`calls_total{op="get"}`).Add(3)
	set.NewGauge("open", func() float64 { return 1.5 })
	got, err := Samples(set)
	if err != nil {
		t.Fatalf("Samples: %v", err)
	}
	for name, want := range map[string]float64{`calls_total{op="get"}`: 3, "open": 1.5} {
		if got[name] != want {
			t.Errorf("Samples()[%s]: got %v, want %v", name, got[name], want)
		}
	}
	if len(got) != 2 {
		t.Errorf("Samples: got %d samples (%v), want 2", len(got), got)
	}
}
