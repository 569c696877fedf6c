package shard_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/shard"
)

// scrape writes the tracker's set and parses it as Prometheus text format,
// failing the test if it does not parse.
func scrape(t *testing.T, sets ...*metrics.Set) map[string]*dto.MetricFamily {
	t.Helper()
	var buf bytes.Buffer
	for _, s := range sets {
		s.WritePrometheus(&buf)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("exposition does not parse as Prometheus text: %v\n%s", err, buf.String())
	}
	return fams
}

// value returns the value of the series of family name whose labels include
// want, failing the test if there is not exactly one.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("metric %s: not exposed", name)
	}
	var found []float64
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			if labels[k] != v {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.GetCounter() != nil:
			found = append(found, m.GetCounter().GetValue())
		case m.GetGauge() != nil:
			found = append(found, m.GetGauge().GetValue())
		case m.GetUntyped() != nil:
			found = append(found, m.GetUntyped().GetValue())
		case m.GetHistogram() != nil:
			found = append(found, float64(m.GetHistogram().GetSampleCount()))
		}
	}
	if len(found) != 1 {
		t.Fatalf("metric %s%v: got %d series, want 1", name, want, len(found))
	}
	return found[0]
}

func TestMetricsScripted(t *testing.T) {
	metrics.ExposeMetadata(true) // TYPE lines: counters must say counter
	defer metrics.ExposeMetadata(false)
	b := memory.New()
	tr := startTracker(t, b, shard.Config{Shards: 2, FlushInterval: time.Hour,
		MetricsLabels: map[string]string{"tracker": "proxy-a"}})
	// 10 events on 2 sessions, 3 of them duplicates; 2 rejected inputs.
	for _, ev := range []struct{ s, id string }{
		{"a", "1"}, {"a", "2"}, {"a", "1"}, {"b", "1"}, {"b", "2"},
		{"b", "3"}, {"b", "3"}, {"a", "3"}, {"a", "2"}, {"b", "4"},
	} {
		if _, err := tr.Observe(ev.s, ev.id); err != nil {
			t.Fatalf("Observe(%q, %q): %v", ev.s, ev.id, err)
		}
	}
	if _, err := tr.Observe("", "1"); err == nil {
		t.Fatal("Observe with an empty session: got nil error")
	}
	if _, err := tr.Observe("a", "x\ny"); err == nil {
		t.Fatal("Observe with a LF in the ID: got nil error")
	}
	fams := scrape(t, tr.Metrics())
	l := map[string]string{"tracker": "proxy-a"}
	if got := value(t, fams, "lastevent_dirty_sessions", l); got != 2 {
		t.Errorf("dirty_sessions before Flush: got %v, want 2", got)
	}
	flush(t, tr)
	fams = scrape(t, tr.Metrics())
	for name, want := range map[string]float64{
		"lastevent_events_observed_total":     12,
		"lastevent_events_accepted_total":     7,
		"lastevent_events_deduplicated_total": 3,
		"lastevent_checkpoints_written_total": 2,
		"lastevent_checkpoints_stale_total":   0,
		"lastevent_flushes_total":             1,
		"lastevent_retries_total":             0,
		"lastevent_sessions":                  2,
		"lastevent_dirty_sessions":            0,
		"lastevent_oldest_dirty_age_seconds":  0,
		"lastevent_goroutines":                2,
		"lastevent_breakers_open":             0,
		"lastevent_flush_batch_size":          1, // one observation (a histogram's count)
	} {
		if got := value(t, fams, name, l); got != want {
			t.Errorf("%s: got %v, want %v", name, got, want)
		}
	}
	for reason, want := range map[string]float64{"empty_session": 1, "invalid_event_id": 1, "closed": 0} {
		if got := value(t, fams, "lastevent_events_rejected_total", map[string]string{"reason": reason, "tracker": "proxy-a"}); got != want {
			t.Errorf("events_rejected_total{reason=%q}: got %v, want %v", reason, got, want)
		}
	}
	if typ := fams["lastevent_events_accepted_total"].GetType(); typ != dto.MetricType_COUNTER {
		t.Errorf("events_accepted_total type: got %v, want counter", typ)
	}
	if typ := fams["lastevent_sessions"].GetType(); typ != dto.MetricType_GAUGE {
		t.Errorf("sessions type: got %v, want gauge", typ)
	}
	if got := value(t, fams, "lastevent_backend_store_duration_seconds", l); got != 1 {
		t.Errorf("backend_store_duration_seconds count: got %v, want 1 Store call", got)
	}
	// Every backend call goes through the gate, which times it.
	if _, err := tr.Resume(context.Background(), "resumed"); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	if err := tr.Delete(context.Background(), "a"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	fams = scrape(t, tr.Metrics())
	for name, want := range map[string]float64{
		"lastevent_backend_load_duration_seconds":   2, // the first write's load, and Resume's
		"lastevent_backend_delete_duration_seconds": 1,
	} {
		if got := value(t, fams, name, l); got != want {
			t.Errorf("%s count: got %v, want %v calls", name, got, want)
		}
	}
}

func TestMetricsFailuresAndBreaker(t *testing.T) {
	fb := newFaultyBackend()
	tr := startTracker(t, fb, shard.Config{Shards: 1, FlushInterval: time.Hour,
		RetryBaseDelay: time.Hour, RetryMaxDelay: time.Hour, BreakerThreshold: 2, BreakerResetTimeout: 300 * time.Millisecond})
	observe(t, tr, "a", "1")
	observe(t, tr, "b", "1")
	fb.fail.Store(true)
	_ = flushShort(tr) // attempt 1 of each: 2 retryable failures, breaker 1/2
	_ = flushShort(tr) // attempt 2 of each: 2 more, 2 retries; the breaker opens
	observe(t, tr, "c", "1")
	_ = flushShort(tr) // c is not attempted while the breaker is open: deferred
	st := tr.Stats()
	if st.WriteFailures[0] != 4 || st.WriteFailures[1] != 0 || st.Retries != 2 || st.BreakerOpens != 1 ||
		st.BreakersOpen != 1 || st.Deferred != 1 || st.DirtySessions != 3 {
		t.Fatalf("stats during the outage: got %+v, want 4 retryable failures, 2 retries, 1 breaker open, 1 deferred, 3 dirty", st)
	}
	fams := scrape(t, tr.Metrics())
	if got := value(t, fams, "lastevent_checkpoint_write_failures_total", map[string]string{"class": "retryable"}); got != 4 {
		t.Errorf("write failures{class=retryable}: got %v, want 4", got)
	}
	if got := value(t, fams, "lastevent_breaker_open", map[string]string{"shard": "0"}); got != 1 {
		t.Errorf("breaker_open{shard=0}: got %v, want 1", got)
	}
	if got := value(t, fams, "lastevent_oldest_dirty_age_seconds", nil); got <= 0 {
		t.Errorf("oldest_dirty_age_seconds during the outage: got %v, want > 0", got)
	}
	fb.fail.Store(false)
	flush(t, tr) // the probe after the reset timeout closes the breaker
	if st := tr.Stats(); st.BreakersOpen != 0 || st.DirtySessions != 0 || st.CheckpointsWritten != 3 {
		t.Fatalf("stats after recovery: got %+v, want no breaker open, nothing dirty, 3 written", st)
	}
}

func TestMetricsEvictionsByReason(t *testing.T) {
	clock := &fakeClock{}
	tr := startTracker(t, memory.New(), shard.Config{Shards: 1, FlushInterval: time.Hour, IdleTTL: time.Minute, Now: clock.Now})
	for i := range 3 {
		observe(t, tr, "s"+strconv.Itoa(i), "1")
	}
	flush(t, tr)
	clock.Advance(2 * time.Minute)
	flush(t, tr)
	if got := value(t, scrape(t, tr.Metrics()), "lastevent_sessions_evicted_total", map[string]string{"reason": "idle"}); got != 3 {
		t.Fatalf("sessions_evicted_total{reason=idle}: got %v, want 3", got)
	}
}

func TestMetricsBusyTrackerParses(t *testing.T) {
	tr := startTracker(t, memory.New(), shard.Config{Shards: 4, FlushInterval: time.Millisecond})
	var stop atomic.Bool
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				_, _ = tr.Observe("s"+strconv.Itoa((g*1000+i)%500), strconv.Itoa(i%700))
			}
		}()
	}
	for range 20 {
		if fams := scrape(t, tr.Metrics()); len(fams) != 34 {
			// 19 counters and gauges, 5 histograms of 3 families each.
			t.Fatalf("metric families of a busy tracker: got %d, want 34", len(fams))
		}
	}
	stop.Store(true)
	wg.Wait()
}

func TestMetricsTwoTrackersDistinct(t *testing.T) {
	a := startTracker(t, memory.New(), shard.Config{Shards: 1, MetricsLabels: map[string]string{"tracker": "a"}})
	b := startTracker(t, memory.New(), shard.Config{Shards: 1, MetricsLabels: map[string]string{"tracker": "b"}})
	observe(t, a, "s", "1")
	observe(t, b, "s", "1")
	observe(t, b, "s", "2")
	flush(t, a) // the flushers collect the event counts
	flush(t, b)
	fams := scrape(t, a.Metrics(), b.Metrics()) // one exposition, as after RegisterSet of both
	if got := value(t, fams, "lastevent_events_accepted_total", map[string]string{"tracker": "a"}); got != 1 {
		t.Errorf("accepted{tracker=a}: got %v, want 1", got)
	}
	if got := value(t, fams, "lastevent_events_accepted_total", map[string]string{"tracker": "b"}); got != 2 {
		t.Errorf("accepted{tracker=b}: got %v, want 2", got)
	}
}

func TestMetricsGaugesZeroAfterClose(t *testing.T) {
	tr := startTracker(t, memory.New(), shard.Config{Shards: 2})
	observe(t, tr, "s", "1")
	if err := tr.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	fams := scrape(t, tr.Metrics())
	for _, name := range []string{"lastevent_sessions", "lastevent_dirty_sessions", "lastevent_oldest_dirty_age_seconds",
		"lastevent_goroutines", "lastevent_breakers_open", "lastevent_close_unflushed_sessions"} {
		if got := value(t, fams, name, nil); got != 0 {
			t.Errorf("%s after Close: got %v, want 0", name, got)
		}
	}
	if got := value(t, fams, "lastevent_events_accepted_total", nil); got != 1 {
		t.Errorf("events_accepted_total after Close: got %v, want 1 (counters keep their value)", got)
	}
}

func TestMetricsConfigValidated(t *testing.T) {
	for _, cfg := range []shard.Config{
		{MetricsPrefix: "bad-prefix"},
		{MetricsLabels: map[string]string{"0bad": "x"}},
		{MetricsLabels: map[string]string{"reason": "x"}},
	} {
		if _, err := shard.New(memory.New(), cfg); err == nil {
			t.Errorf("New(%+v): got nil error, want one naming the field", cfg)
		}
	}
}

// countingHandler counts log records by level.
type countingHandler struct {
	mu     sync.Mutex
	counts map[slog.Level]int
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.counts[r.Level]++
	h.mu.Unlock()
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }

func TestLogVolumeBoundedDuringFailureStorm(t *testing.T) {
	fb := newFaultyBackend()
	h := &countingHandler{counts: map[slog.Level]int{}}
	const shards, storm = 2, 1500 * time.Millisecond
	var failures atomic.Int64
	tr := startTracker(t, fb, shard.Config{Shards: shards, FlushInterval: time.Millisecond, Logger: slog.New(h),
		RetryBaseDelay: time.Millisecond, RetryMaxDelay: 2 * time.Millisecond, BreakerThreshold: -1,
		OnError: func(shard.WriteFailure) { failures.Add(1) }})
	fb.fail.Store(true)
	deadline := time.Now().Add(storm)
	for i := 0; time.Now().Before(deadline); i++ {
		observe(t, tr, "s"+strconv.Itoa(i%1000), strconv.Itoa(i))
	}
	h.mu.Lock()
	warns := h.counts[slog.LevelWarn] + h.counts[slog.LevelError]
	h.mu.Unlock()
	// One line per shard per second, plus the first of each second.
	if limit := shards * (int(storm/time.Second) + 2); warns > limit || warns == 0 {
		t.Fatalf("failure log lines during a %v storm of %d failed writes: got %d, want 1..%d", storm, failures.Load(), warns, limit)
	}
	if failures.Load() < 1000 {
		t.Fatalf("failed writes reported to OnError: got %d, want the storm to have produced >= 1000", failures.Load())
	}
	fb.fail.Store(false)
	flush(t, tr)
	if errors.Is(tr.Close(context.Background()), shard.ErrUnflushed) {
		t.Fatal("Close after recovery: unflushed")
	}
}
