package shard

import (
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/VictoriaMetrics/metrics"
)

// DefaultMetricsPrefix starts every metric name of a Tracker.
const DefaultMetricsPrefix = "lastevent_"

var (
	metricNameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelNameRE  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// trackerMetrics is a Tracker's own metrics.Set. The counters and gauges are
// computed on scrape from Stats (one snapshot per scrape, written by a
// metrics writer registered once in New). The per-event path writes no
// shared counter: the flushers collect event counts from each session they
// take (shard.collect). The histograms are updated by flushers, once per
// cycle or Store call, never per event.
type trackerMetrics struct {
	set            *metrics.Set
	flushDuration  *metrics.PrometheusHistogram // seconds per flush cycle that wrote
	storeDuration  *metrics.PrometheusHistogram // seconds per Backend.Store call
	loadDuration   *metrics.PrometheusHistogram // seconds per Backend.Load call (Resume, adoption)
	deleteDuration *metrics.PrometheusHistogram // seconds per Backend.Delete call
	batchSize      *metrics.PrometheusHistogram // checkpoints written per flush cycle

	names metricNames
}

// metricNames are the families written on scrape, their series' full names
// (prefix, base name, labels) built once in New.
type metricNames struct {
	observed, accepted, deduplicated, written, stale, retries, deferred, flushes family
	rejected, failures, evicted, breakerOpen                                     family
	breakerOpens, closeUnflushed                                                 family
	sessions, dirty, oldestDirtyAge, goroutines, breakersOpen                    family
}

// latency buckets in seconds: 100µs to 60s; batch buckets in checkpoints.
var (
	durationBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
	batchBuckets    = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384, 65536}
)

func newTrackerMetrics(t *Tracker) *trackerMetrics {
	cfg := &t.cfg
	labels := constLabels(cfg.MetricsLabels)
	name := func(base string, extra ...string) string {
		all := append(slices.Clone(labels), extra...)
		if len(all) == 0 {
			return cfg.MetricsPrefix + base
		}
		return cfg.MetricsPrefix + base + "{" + strings.Join(all, ",") + "}"
	}
	m := &trackerMetrics{set: metrics.NewSet()}
	n := &m.names
	one := func(base string) family { return family{cfg.MetricsPrefix + base, []string{name(base)}} }
	labelled := func(base, key string, values ...string) family {
		f := family{name: cfg.MetricsPrefix + base}
		for _, v := range values {
			f.series = append(f.series, name(base, label(key, v)))
		}
		return f
	}
	n.observed = one("events_observed_total")
	n.accepted = one("events_accepted_total")
	n.deduplicated = one("events_deduplicated_total")
	n.rejected = labelled("events_rejected_total", "reason", RejectReasons[:]...)
	n.written = one("checkpoints_written_total")
	n.stale = one("checkpoints_stale_total")
	n.failures = labelled("checkpoint_write_failures_total", "class", "retryable", "permanent") // classRetry, classPerm
	n.retries = one("retries_total")
	n.deferred = one("writes_deferred_total")
	n.flushes = one("flushes_total")
	n.evicted = labelled("sessions_evicted_total", "reason", "idle", "max_sessions") // evictIdle, evictPressure
	n.breakerOpens = one("breaker_opens_total")
	n.closeUnflushed = one("close_unflushed_sessions")
	n.sessions = one("sessions")
	n.dirty = one("dirty_sessions")
	n.oldestDirtyAge = one("oldest_dirty_age_seconds")
	n.goroutines = one("goroutines")
	n.breakersOpen = one("breakers_open")
	shards := make([]string, len(t.shards))
	for i := range shards {
		shards[i] = strconv.Itoa(i)
	}
	n.breakerOpen = labelled("breaker_open", "shard", shards...)
	m.flushDuration = m.set.NewPrometheusHistogramExt(name("flush_duration_seconds"), durationBuckets)
	m.storeDuration = m.set.NewPrometheusHistogramExt(name("backend_store_duration_seconds"), durationBuckets)
	m.loadDuration = m.set.NewPrometheusHistogramExt(name("backend_load_duration_seconds"), durationBuckets)
	m.deleteDuration = m.set.NewPrometheusHistogramExt(name("backend_delete_duration_seconds"), durationBuckets)
	m.batchSize = m.set.NewPrometheusHistogramExt(name("flush_batch_size"), batchBuckets)
	m.set.RegisterMetricsWriter(func(w io.Writer) { m.write(w, t) })
	return m
}

// write exposes one Stats snapshot in Prometheus text format.
func (m *trackerMetrics) write(w io.Writer, t *Tracker) {
	st := t.Stats()
	n := &m.names
	counter := func(f family, vs ...uint64) { writeFamily(w, f, "counter", vs) }
	gauge := func(f family, vs ...uint64) { writeFamily(w, f, "gauge", vs) }
	counter(n.observed, st.Observed())
	counter(n.accepted, st.EventsAccepted)
	counter(n.deduplicated, st.EventsDeduplicated)
	counter(n.rejected, st.EventsRejected[:]...)
	counter(n.written, st.CheckpointsWritten)
	counter(n.stale, st.CheckpointsStale)
	counter(n.failures, st.WriteFailures[:]...)
	counter(n.retries, st.Retries)
	counter(n.deferred, st.Deferred)
	counter(n.flushes, st.Flushes)
	counter(n.evicted, st.Evicted[:]...)
	counter(n.breakerOpens, st.BreakerOpens)
	gauge(n.closeUnflushed, uint64(st.CloseUnflushed))
	gauge(n.sessions, uint64(st.Sessions))
	gauge(n.dirty, uint64(st.DirtySessions))
	writeFamily(w, n.oldestDirtyAge, "gauge", nil)
	fmt.Fprintf(w, "%s %g\n", n.oldestDirtyAge.series[0], st.OldestDirtyAge.Seconds())
	gauge(n.goroutines, uint64(st.Goroutines))
	gauge(n.breakersOpen, uint64(st.BreakersOpen))
	open := make([]uint64, len(t.shards))
	if !t.closed.Load() {
		for i := range t.shards {
			if t.shards[i].breaker.open() {
				open[i] = 1
			}
		}
	}
	gauge(n.breakerOpen, open...)
}

// family is one metric name and the full names of its series.
type family struct {
	name   string
	series []string
}

// writeFamily writes a family's TYPE and HELP lines once (when the
// application turned metadata on with metrics.ExposeMetadata), then one line
// per series; with no values it writes only the metadata.
func writeFamily(w io.Writer, f family, typ string, values []uint64) {
	metrics.WriteMetadataIfNeeded(w, f.name, typ)
	for i, v := range values {
		fmt.Fprintf(w, "%s %d\n", f.series[i], v)
	}
}

// constLabels renders Config.MetricsLabels sorted by name.
func constLabels(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = label(k, m[k])
	}
	return out
}

// label renders name="value" with the escapes of the Prometheus text
// format: backslash, double quote and line feed.
func label(name, value string) string {
	return name + `="` + labelEscaper.Replace(value) + `"`
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// validateMetrics checks the prefix and label names; the error names the
// field.
func validateMetrics(c *Config) error {
	if !metricNameRE.MatchString(c.MetricsPrefix + "x") {
		return fmt.Errorf("lastevent: Config.MetricsPrefix %q: must be a Prometheus metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)", c.MetricsPrefix)
	}
	for k := range c.MetricsLabels {
		if !labelNameRE.MatchString(k) || strings.HasPrefix(k, "__") || k == "reason" || k == "class" || k == "shard" || k == "le" {
			return fmt.Errorf("lastevent: Config.MetricsLabels: label name %q: must match [a-zA-Z_][a-zA-Z0-9_]*, not start with __, and not be reason, class, shard or le", k)
		}
	}
	return nil
}
