package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/lastevent/lastevent/shard"
)

// trackerConfig is the tracker's bounded-memory and observability flags.
type trackerConfig struct {
	MaxSessions int           // -max-sessions: shard.Config.MaxSessions
	IdleTTL     time.Duration // -idle-ttl: shard.Config.IdleTTL
	MetricsAddr string        // -metrics-addr: serve /metrics here while running
}

func (c *trackerConfig) addFlags(fs *flag.FlagSet) {
	fs.IntVar(&c.MaxSessions, "max-sessions", 0, "tracker MaxSessions: sessions held in memory; clean ones are evicted beyond it (0 = no bound)")
	fs.DurationVar(&c.IdleTTL, "idle-ttl", 0, "tracker IdleTTL: evict sessions idle this long (0 = never)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", "", "serve the tracker's metrics at http://ADDR/metrics (Prometheus text format) while the run lasts, e.g. 127.0.0.1:9100; with -compare, during the lastevent run")
}

func (c trackerConfig) validate() error {
	switch {
	case c.MaxSessions < 0:
		return fmt.Errorf("-max-sessions %d: must not be negative", c.MaxSessions)
	case c.IdleTTL < 0:
		return fmt.Errorf("-idle-ttl %v: must not be negative", c.IdleTTL)
	}
	return nil
}

// evicting reports whether sessions may be evicted during the run. An
// evicted session forgets its dedup window, so a replay that reaches it
// afterwards is accepted again by design: the generator counts those apart
// instead of as dedup errors.
func (c trackerConfig) evicting() bool { return c.MaxSessions > 0 || c.IdleTTL > 0 }

// trackerReport is the tracker's own account of the run (Tracker.Stats);
// its fields are part of the JSON object. It is empty for the baselines.
type trackerReport struct {
	WritesFailed              uint64  `json:"writes_failed"` // failed checkpoint writes, all retried
	WritesFailedPermanent     uint64  `json:"writes_failed_permanent"`
	Retries                   uint64  `json:"retries"`
	WritesDeferred            uint64  `json:"writes_deferred"` // not attempted: breaker open
	BreakerOpens              uint64  `json:"breaker_opens"`
	Evictions                 uint64  `json:"evictions"`
	EvictionsIdle             uint64  `json:"evictions_idle"`
	MaxFlushLagS              float64 `json:"max_flush_lag_s"` // largest oldest_dirty_age_seconds sampled
	RejectedTooManySessions   uint64  `json:"rejected_too_many_sessions"`
	ReplaysReacceptedEvicting uint64  `json:"replays_reaccepted_after_eviction"`
	MetricsURL                string  `json:"metrics_url,omitempty"`
	haveStats                 bool
}

func (r *trackerReport) setStats(st shard.Stats) {
	r.haveStats = true
	r.WritesFailed = st.WriteFailures[0] + st.WriteFailures[1]
	r.WritesFailedPermanent = st.WriteFailures[1]
	r.Retries = st.Retries
	r.WritesDeferred = st.Deferred
	r.BreakerOpens = st.BreakerOpens
	r.Evictions = st.Evicted[0] + st.Evicted[1]
	r.EvictionsIdle = st.Evicted[0]
}

func (r *trackerReport) writeLine(w io.Writer) {
	if !r.haveStats {
		return
	}
	fmt.Fprintf(w, "tracker: %s writes failed (%s permanent), %s retries, %s deferred by an open breaker, %s breaker opens, %s evictions (%s idle), max flush lag %v\n",
		group(r.WritesFailed), group(r.WritesFailedPermanent), group(r.Retries), group(r.WritesDeferred), group(r.BreakerOpens),
		group(r.Evictions), group(r.EvictionsIdle), time.Duration(r.MaxFlushLagS*float64(time.Second)).Round(time.Microsecond))
	if r.RejectedTooManySessions > 0 || r.ReplaysReacceptedEvicting > 0 {
		fmt.Fprintf(w, "eviction: %s Observes refused with ErrTooManySessions, %s replays accepted again by evicted sessions (by design)\n",
			group(r.RejectedTooManySessions), group(r.ReplaysReacceptedEvicting))
	}
	if r.MetricsURL != "" {
		fmt.Fprintf(w, "metrics: served at %s during the run\n", r.MetricsURL)
	}
}

// watch samples how far persistence lags while the run lasts and serves
// the tracker's metrics when -metrics-addr is set. Its goroutines start
// before the measurement window; stop ends them.
type watch struct {
	tracker *shard.Tracker
	maxLag  time.Duration
	server  *http.Server
	url     string
	stopc   chan struct{}
	done    chan struct{}
	served  chan error
}

// startWatch starts watching s if it is a lastevent Tracker. A baseline
// (-compare) has neither metrics nor a flush lag to sample: it returns nil,
// and -metrics-addr serves only during the lastevent run.
func startWatch(c trackerConfig, s system) (*watch, error) {
	t, ok := s.(*shard.Tracker)
	if !ok {
		return nil, nil
	}
	w := &watch{tracker: t, stopc: make(chan struct{}), done: make(chan struct{})}
	if c.MetricsAddr != "" {
		ln, err := net.Listen("tcp", c.MetricsAddr)
		if err != nil {
			return nil, fmt.Errorf("-metrics-addr: %w", err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/metrics", func(rw http.ResponseWriter, _ *http.Request) {
			rw.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
			t.Metrics().WritePrometheus(rw)
		})
		w.server = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		w.url = "http://" + ln.Addr().String() + "/metrics"
		w.served = make(chan error, 1)
		go func() { w.served <- w.server.Serve(ln) }()
	}
	go w.sample()
	return w, nil
}

func (w *watch) sample() {
	defer close(w.done)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			w.maxLag = max(w.maxLag, w.tracker.Stats().OldestDirtyAge)
		case <-w.stopc:
			return
		}
	}
}

// stop ends the sampling and the metrics server, and files what they saw.
func (w *watch) stop(r *trackerReport) {
	if w == nil {
		return
	}
	close(w.stopc)
	<-w.done
	if w.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = w.server.Shutdown(ctx)
		<-w.served
		r.MetricsURL = w.url
	}
	r.MaxFlushLagS = w.maxLag.Seconds()
	r.setStats(w.tracker.Stats())
}
