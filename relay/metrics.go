package relay

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/VictoriaMetrics/metrics"
)

// series names one metric: its family (prefix and base name) and its full
// series name with the constant labels, built once in New so that writing
// the set looks nothing up and builds no name.
type series struct{ family, name string }

// namer builds series names for a prefix and constant labels.
type namer struct {
	prefix string
	labels []string // rendered name="value", sorted by name
}

func newNamer(prefix string, labels map[string]string) namer {
	n := namer{prefix: prefix}
	for k, v := range labels {
		n.labels = append(n.labels, label(k, v))
	}
	slices.Sort(n.labels)
	return n
}

func (n namer) series(base string, extra ...string) series {
	all := append(slices.Clone(n.labels), extra...)
	s := series{family: n.prefix + base, name: n.prefix + base}
	if len(all) > 0 {
		s.name += "{" + strings.Join(all, ",") + "}"
	}
	return s
}

// label renders name="value" with the Prometheus text format's escapes.
func label(name, value string) string {
	return name + `="` + labelEscaper.Replace(value) + `"`
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// readerSeries are the series of an upstream reader's numbers, which a
// Reader's own set and a Relay's set both write.
type readerSeries struct {
	accepted, dropped, untracked, connects, reconnects, connected series
	errors                                                        [numKinds]series
}

func newReaderSeries(n namer) readerSeries {
	s := readerSeries{
		accepted:   n.series("events_accepted_total"),
		dropped:    n.series("replays_dropped_total"),
		untracked:  n.series("events_untracked_total"),
		connects:   n.series("upstream_connects_total"),
		reconnects: n.series("upstream_reconnects_total"),
		connected:  n.series("upstream_connected"),
	}
	for k := range s.errors {
		s.errors[k] = n.series("errors_total", label("kind", kindNames[k]))
	}
	return s
}

func (s *readerSeries) write(w io.Writer, st *ReaderStats) {
	counter(w, s.accepted, st.EventsAccepted)
	counter(w, s.dropped, st.ReplaysDropped)
	counter(w, s.untracked, st.EventsUntracked)
	counter(w, s.connects, st.Connects)
	counter(w, s.reconnects, st.Reconnects)
	gauge(w, s.connected, uint64(max(st.Connected, 0)))
	metrics.WriteMetadataIfNeeded(w, s.errors[0].family, "counter")
	for k := range s.errors {
		fmt.Fprintf(w, "%s %d\n", s.errors[k].name, st.Errors[k])
	}
}

func counter(w io.Writer, s series, v uint64) {
	metrics.WriteMetadataIfNeeded(w, s.family, "counter")
	fmt.Fprintf(w, "%s %d\n", s.name, v)
}

func gauge(w io.Writer, s series, v uint64) {
	metrics.WriteMetadataIfNeeded(w, s.family, "gauge")
	fmt.Fprintf(w, "%s %d\n", s.name, v)
}

// newReaderMetrics is a standalone Reader's set.
func newReaderMetrics(r *Reader) *metrics.Set {
	s := newReaderSeries(newNamer(r.cfg.MetricsPrefix, r.cfg.MetricsLabels))
	set := metrics.NewSet()
	set.RegisterMetricsWriter(func(w io.Writer) {
		st := r.Stats()
		s.write(w, &st)
	})
	return set
}

// newRelayMetrics is a Relay's set: its reader's series and its own.
func newRelayMetrics(r *Relay) *metrics.Set {
	n := newNamer(r.cfg.MetricsPrefix, r.cfg.MetricsLabels)
	rs := newReaderSeries(n)
	var (
		clients    = n.series("clients")
		catchUps   = n.series("catchup_streams")
		buffered   = n.series("buffered_events")
		relayed    = n.series("events_relayed_total")
		sent       = n.series("events_sent_total")
		started    = n.series("catchups_total")
		behind     = n.series("clients_fell_behind_total")
		slow       = n.series("slow_client_disconnects_total")
		corsDenied = n.series("cors_denied_total")
	)
	set := metrics.NewSet()
	set.RegisterMetricsWriter(func(w io.Writer) {
		st := r.Stats()
		rs.write(w, &st.Reader)
		gauge(w, clients, uint64(max(st.Clients, 0)))
		gauge(w, catchUps, uint64(max(st.CatchUps, 0)))
		gauge(w, buffered, uint64(st.Buffered))
		counter(w, relayed, st.EventsRelayed)
		counter(w, sent, st.EventsSent)
		counter(w, started, st.CatchUpsStarted)
		counter(w, behind, st.FellBehind)
		counter(w, slow, st.SlowClientDisconnects)
		counter(w, corsDenied, st.CORSDenied)
	})
	return set
}
