package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/shard"
)

// TestRunWithEviction runs more sessions than -max-sessions allows, with an
// idle TTL: the run stays correct (every session's last accepted checkpoint
// stored, no regression), evictions happen, and refusals and replays
// accepted by evicted sessions are counted apart, not as errors.
func TestRunWithEviction(t *testing.T) {
	cfg := smallConfig()
	cfg.Sessions = 200
	cfg.Tracker = trackerConfig{MaxSessions: 50, IdleTTL: 50 * time.Millisecond}
	r, err := run(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if !r.CorrectnessOK || r.SessionsLost != 0 || r.CheckpointRegressions != 0 || r.ObserveErrors != 0 {
		t.Fatalf("correctness %v, lost %d, regressions %d, Observe errors %d (first failure: %s)",
			r.CorrectnessOK, r.SessionsLost, r.CheckpointRegressions, r.ObserveErrors, r.FirstFailure)
	}
	if r.Evictions == 0 || r.RejectedTooManySessions == 0 {
		t.Fatalf("200 sessions under -max-sessions 50: got %d evictions and %d refusals, want both > 0", r.Evictions, r.RejectedTooManySessions)
	}
	if r.SessionsInTracker > 50 {
		t.Fatalf("sessions in the tracker at the end: got %d, want <= 50", r.SessionsInTracker)
	}
	var table bytes.Buffer
	r.writeTable(&table)
	for _, want := range []string{"tracker: ", "evictions", "max flush lag", "ErrTooManySessions"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
}

// TestWatchServesMetrics scrapes -metrics-addr while a tracker runs: the
// body parses as Prometheus text and shows the tracker's counters.
func TestWatchServesMetrics(t *testing.T) {
	tr, err := shard.New(memory.New(), shard.Config{Shards: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close(context.Background())
	w, err := startWatch(trackerConfig{MetricsAddr: "127.0.0.1:0"}, tr)
	if err != nil {
		t.Fatalf("startWatch: %v", err)
	}
	for _, id := range []string{"1", "2", "2"} {
		if _, err := tr.Observe("s", id); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Flush(context.Background()); err != nil { // the flushers collect the event counts
		t.Fatal(err)
	}
	resp, err := http.Get(w.url)
	if err != nil {
		t.Fatalf("GET %s: %v", w.url, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d, %v", w.url, resp.StatusCode, err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v\n%s", err, body)
	}
	if f := fams["lastevent_events_deduplicated_total"]; f == nil || f.GetMetric()[0].GetUntyped().GetValue() != 1 {
		t.Fatalf("lastevent_events_deduplicated_total: got %v, want 1", f)
	}
	var rep trackerReport
	w.stop(&rep)
	if rep.MetricsURL != w.url || !rep.haveStats {
		t.Fatalf("report after stop: %+v", rep)
	}
	if _, err := http.Get(w.url); err == nil {
		t.Fatal("metrics server still answers after stop")
	}
}

func TestTrackerFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"-max-sessions", "10", "-idle-ttl", "1s", "-metrics-addr", "127.0.0.1:9"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if want := (trackerConfig{MaxSessions: 10, IdleTTL: time.Second, MetricsAddr: "127.0.0.1:9"}); cfg.Tracker != want {
		t.Fatalf("parsed: got %+v, want %+v", cfg.Tracker, want)
	}
	for _, bad := range [][]string{{"-max-sessions", "-1"}, {"-idle-ttl", "-1s"}} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("parseFlags(%q): got nil error", bad)
		}
	}
}
