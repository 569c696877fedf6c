package relay

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/shard"
)

const (
	// DefaultBuffer is the default number of accepted events a Relay keeps
	// for its clients.
	DefaultBuffer = 1024
	// DefaultHeartbeat is the default interval of comment heartbeats on an
	// idle client stream: shorter than the idle timeouts of common proxies
	// and load balancers (30-60s).
	DefaultHeartbeat = 15 * time.Second
	// DefaultClientRetry is the default reconnection time sent to clients.
	DefaultClientRetry = time.Second
	// DefaultWriteTimeout is how long a write to a client may block before
	// the client is disconnected as too slow.
	DefaultWriteTimeout = 10 * time.Second
	// DefaultLastEventIDParam is the default query parameter a client's
	// position is read from when it sends no Last-Event-ID header: a
	// browser's EventSource cannot send the header on a page's first
	// connection, so a page resumes with ?lastEventId=ID.
	DefaultLastEventIDParam = "lastEventId"
	// DefaultCORSMaxAge is how long a browser may cache a preflight answer.
	DefaultCORSMaxAge = 10 * time.Minute
	// DefaultSettle is how long a quiet upstream ends a catch-up's wait for
	// its anchor (see Config.MaxOverlap).
	DefaultSettle = 500 * time.Millisecond
	// DefaultMaxCatchUps bounds the catch-up streams a Relay runs at once.
	DefaultMaxCatchUps = 64
	// DefaultMetricsPrefix starts every metric name of a Relay or Reader.
	DefaultMetricsPrefix = "lastevent_relay_"
)

// ReaderConfig configures a Reader. The zero value of every optional field
// means its default.
type ReaderConfig struct {
	// URL of the upstream event stream. Required.
	URL string
	// Session is the Tracker session whose event IDs the upstream's are:
	// its Last-Event-ID is sent on every connection. Required.
	Session string
	// Tracker deduplicates and checkpoints the upstream's event IDs.
	// Required. The caller creates it and closes it after the Reader stops;
	// it may serve other sessions too.
	Tracker *shard.Tracker
	// Client makes the requests. Its Timeout must be 0: a timeout would
	// cut the long-lived stream. Default http.DefaultClient.
	Client *http.Client
	// Header is added to every request (e.g. Authorization). Not modified.
	// Default none.
	Header http.Header
	// MinBackoff and MaxBackoff shape the wait before a reconnect: the
	// upstream's retry field (0 if it sent none), honoured as a floor,
	// plus a uniform random duration in [0, min(MaxBackoff,
	// MinBackoff·2^n)), n counting the connections in a row that
	// delivered no event (full jitter). Defaults 100ms and 5s.
	MinBackoff, MaxBackoff time.Duration
	// OnError, if set, is called with every failure (an *Error) on the
	// Reader's goroutine; it must not block for long. Default: none (every
	// failure is still logged, rate-limited, and counted).
	OnError func(*Error)
	// Logger receives connection logs and failures (rate-limited per
	// kind). Default slog.Default().
	Logger *slog.Logger
	// MetricsPrefix starts every metric name in Reader.Metrics. Default
	// DefaultMetricsPrefix ("lastevent_relay_").
	MetricsPrefix string
	// MetricsLabels are constant labels added to every metric, e.g.
	// {"upstream": "orders"}. The name kind is reserved. Default none.
	MetricsLabels map[string]string
}

// FollowConfig configures Follow: a stream read without a Tracker. The
// zero value of every optional field means its default.
type FollowConfig struct {
	// URL of the event stream. Required.
	URL string
	// Client, Header, MinBackoff, MaxBackoff, OnError and Logger are as in
	// ReaderConfig.
	Client                 *http.Client
	Header                 http.Header
	MinBackoff, MaxBackoff time.Duration
	OnError                func(*Error)
	Logger                 *slog.Logger
	// MaxOverlap is the most already-delivered events the stream may
	// resend before the ones after Last-Event-ID on a reconnect (an
	// at-least-once upstream). With MaxOverlap > 0, every connection that
	// starts at an ID matches that position: it holds its first events
	// back until the ID reappears (they and it were the overlap and are
	// dropped), or until MaxOverlap events arrived without it, or the
	// stream was quiet for Settle (then nothing was overlap, and they are
	// handed on). Default 0: the stream resends nothing, nothing is held.
	MaxOverlap int
	// Settle is how long a quiet stream ends the wait for the position's
	// ID: an upstream sends its replayed overlap in one burst as it
	// answers. Default 500ms.
	Settle time.Duration
	// StopOnReject makes Follow return an error wrapping ErrRejected when
	// the upstream answers 4xx (other than 429), instead of retrying.
	StopOnReject bool
}

// Config configures a Relay. The zero value of every optional field means
// its default.
type Config struct {
	// URL, Session, Tracker, Client, Header, MinBackoff and MaxBackoff are
	// the upstream reader's, as in ReaderConfig. URL, Session and Tracker
	// are required.
	URL                    string
	Session                string
	Tracker                *shard.Tracker
	Client                 *http.Client
	Header                 http.Header
	MinBackoff, MaxBackoff time.Duration

	// Buffer is how many accepted events the relay keeps in memory, the
	// replay buffer clients read from: a client whose position is in it
	// resumes from it, and a client that falls further behind is served
	// from a catch-up stream. Memory is at most Buffer events (each up to
	// sse.DefaultMaxLineBytes of data). Default 1024.
	Buffer int
	// Heartbeat is the interval of comment heartbeats on a client stream
	// that has sent nothing else in that time. Default 15s.
	Heartbeat time.Duration
	// ClientRetry is the reconnection time sent first on every client
	// stream (its retry field). Default 1s.
	ClientRetry time.Duration
	// WriteTimeout bounds every write to a client: a client that does not
	// read for this long is disconnected (a slow client; it may reconnect
	// with its Last-Event-ID). It replaces the http.Server's WriteTimeout
	// for the stream, which would otherwise cut it. Default 10s.
	WriteTimeout time.Duration
	// LastEventIDParam is the query parameter a client's position is read
	// from when its request has no Last-Event-ID header; the header wins
	// when both are present, as an EventSource that reconnects sends the
	// header with the URL it was opened with. Default "lastEventId".
	LastEventIDParam string

	// AllowedOrigins are the origins ("https://app.example.com", scheme,
	// host and port as a browser sends them in Origin) whose pages may
	// read the stream across origins; "*" allows every origin. The relay
	// echoes an allowed origin in Access-Control-Allow-Origin, sends Vary:
	// Origin, answers preflight OPTIONS requests (allowing GET and the
	// Last-Event-ID and Cache-Control headers), and refuses a request from
	// any other origin, except its own, with 403. Default none: same-origin
	// only, and no CORS header is ever sent.
	AllowedOrigins []string
	// AllowCredentials sends Access-Control-Allow-Credentials: true to
	// allowed origins, for an EventSource opened withCredentials.
	AllowCredentials bool
	// CORSMaxAge is how long a browser may cache a preflight answer, in
	// whole seconds. Default 10m.
	CORSMaxAge time.Duration

	// MaxOverlap is the most already-delivered events the upstream may
	// resend before the ones after Last-Event-ID (an at-least-once
	// upstream). The Tracker drops that overlap on the relay's own
	// connections (keep MaxOverlap within its PersistWindow, default 32,
	// for restarts); catch-up streams, which serve one client and have no
	// Tracker, drop it by matching the client's position, as
	// FollowConfig.MaxOverlap says. Default 0: the upstream resends
	// nothing.
	MaxOverlap int
	// Settle is a catch-up stream's FollowConfig.Settle. Default 500ms.
	Settle time.Duration
	// MaxCatchUps bounds the catch-up streams (each one upstream
	// connection) running at once; a client that needs one when all are
	// taken waits for one, with heartbeats. Default 64.
	MaxCatchUps int

	// OnError, if set, is called with every failure (an *Error), from the
	// reader's goroutine or a client's; it must not block for long and
	// must be safe for concurrent use. Default: none (every failure is
	// still logged, rate-limited, and counted).
	OnError func(*Error)
	// Logger receives the relay's logs. Default slog.Default().
	Logger *slog.Logger
	// MetricsPrefix and MetricsLabels name the metrics in Relay.Metrics,
	// as in ReaderConfig.
	MetricsPrefix string
	MetricsLabels map[string]string
}

func (c ReaderConfig) withDefaults() ReaderConfig {
	if c.Client == nil {
		c.Client = http.DefaultClient
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = max(DefaultMaxBackoff, c.MinBackoff)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MetricsPrefix == "" {
		c.MetricsPrefix = DefaultMetricsPrefix
	}
	return c
}

// validate checks a ReaderConfig after defaults; the error names the
// field and its value. The prefix is "relay: ReaderConfig" or, for a
// Relay's reader, "relay: Config".
func (c ReaderConfig) validate(prefix string) error {
	if err := validateSource(prefix, c.URL, c.Client, c.MinBackoff, c.MaxBackoff); err != nil {
		return err
	}
	switch {
	case c.Tracker == nil:
		return fmt.Errorf("%s.Tracker: required", prefix)
	case core.ValidateSession(c.Session) != nil:
		return fmt.Errorf("%s.Session %q: %w", prefix, c.Session, core.ValidateSession(c.Session))
	}
	return validateMetrics(prefix, c.MetricsPrefix, c.MetricsLabels)
}

func (c FollowConfig) withDefaults() FollowConfig {
	if c.Client == nil {
		c.Client = http.DefaultClient
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = max(DefaultMaxBackoff, c.MinBackoff)
	}
	if c.Settle == 0 {
		c.Settle = DefaultSettle
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

func (c FollowConfig) validate() error {
	const prefix = "relay: FollowConfig"
	if err := validateSource(prefix, c.URL, c.Client, c.MinBackoff, c.MaxBackoff); err != nil {
		return err
	}
	switch {
	case c.MaxOverlap < 0:
		return fmt.Errorf("%s.MaxOverlap %d: must not be negative", prefix, c.MaxOverlap)
	case c.Settle < 0:
		return fmt.Errorf("%s.Settle %v: must not be negative", prefix, c.Settle)
	}
	return nil
}

func (c Config) withDefaults() Config {
	rc := c.reader().withDefaults()
	c.Client, c.MinBackoff, c.MaxBackoff, c.Logger, c.MetricsPrefix = rc.Client, rc.MinBackoff, rc.MaxBackoff, rc.Logger, rc.MetricsPrefix
	if c.Buffer == 0 {
		c.Buffer = DefaultBuffer
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.ClientRetry == 0 {
		c.ClientRetry = DefaultClientRetry
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.LastEventIDParam == "" {
		c.LastEventIDParam = DefaultLastEventIDParam
	}
	if c.CORSMaxAge == 0 {
		c.CORSMaxAge = DefaultCORSMaxAge
	}
	if c.Settle == 0 {
		c.Settle = DefaultSettle
	}
	if c.MaxCatchUps == 0 {
		c.MaxCatchUps = DefaultMaxCatchUps
	}
	return c
}

func (c Config) validate() error {
	const prefix = "relay: Config"
	if err := c.reader().validate(prefix); err != nil {
		return err
	}
	switch {
	case c.Buffer < 1:
		return fmt.Errorf("%s.Buffer %d: must be positive", prefix, c.Buffer)
	case c.Heartbeat < 0:
		return fmt.Errorf("%s.Heartbeat %v: must be positive", prefix, c.Heartbeat)
	case c.ClientRetry < 0:
		return fmt.Errorf("%s.ClientRetry %v: must be positive", prefix, c.ClientRetry)
	case c.WriteTimeout < 0:
		return fmt.Errorf("%s.WriteTimeout %v: must be positive", prefix, c.WriteTimeout)
	case c.CORSMaxAge < 0:
		return fmt.Errorf("%s.CORSMaxAge %v: must be positive", prefix, c.CORSMaxAge)
	case c.MaxOverlap < 0:
		return fmt.Errorf("%s.MaxOverlap %d: must not be negative", prefix, c.MaxOverlap)
	case c.Settle < 0:
		return fmt.Errorf("%s.Settle %v: must be positive", prefix, c.Settle)
	case c.MaxCatchUps < 1:
		return fmt.Errorf("%s.MaxCatchUps %d: must be positive", prefix, c.MaxCatchUps)
	case c.AllowCredentials && len(c.AllowedOrigins) == 0:
		return fmt.Errorf("%s.AllowCredentials: needs AllowedOrigins", prefix)
	}
	for i, o := range c.AllowedOrigins {
		if _, err := normalizeOrigin(o); err != nil {
			return fmt.Errorf("%s.AllowedOrigins[%d] %q: %w", prefix, i, o, err)
		}
	}
	return nil
}

// reader returns the ReaderConfig of a Relay's upstream reader.
func (c Config) reader() ReaderConfig {
	return ReaderConfig{
		URL: c.URL, Session: c.Session, Tracker: c.Tracker, Client: c.Client, Header: c.Header,
		MinBackoff: c.MinBackoff, MaxBackoff: c.MaxBackoff, OnError: c.OnError, Logger: c.Logger,
		MetricsPrefix: c.MetricsPrefix, MetricsLabels: c.MetricsLabels,
	}
}

// follow returns the FollowConfig of a Relay's catch-up streams.
func (c Config) follow() FollowConfig {
	return FollowConfig{
		URL: c.URL, Client: c.Client, Header: c.Header, MinBackoff: c.MinBackoff, MaxBackoff: c.MaxBackoff,
		OnError: c.OnError, Logger: c.Logger, MaxOverlap: c.MaxOverlap, Settle: c.Settle, StopOnReject: true,
	}
}

func validateSource(prefix, rawURL string, client *http.Client, minB, maxB time.Duration) error {
	u, err := url.Parse(rawURL)
	switch {
	case rawURL == "":
		return fmt.Errorf("%s.URL: required", prefix)
	case err != nil:
		return fmt.Errorf("%s.URL %q: %w", prefix, rawURL, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%s.URL %q: scheme must be http or https", prefix, rawURL)
	case client.Timeout != 0:
		return fmt.Errorf("%s.Client.Timeout %v: must be 0, a timeout cuts the long-lived stream", prefix, client.Timeout)
	case minB < 0:
		return fmt.Errorf("%s.MinBackoff %v: must be positive", prefix, minB)
	case maxB < minB:
		return fmt.Errorf("%s.MaxBackoff %v: must be at least MinBackoff (%v)", prefix, maxB, minB)
	}
	return nil
}

var (
	metricNameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelNameRE  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

func validateMetrics(prefix, metricsPrefix string, labels map[string]string) error {
	if !metricNameRE.MatchString(metricsPrefix + "x") {
		return fmt.Errorf("%s.MetricsPrefix %q: must be a Prometheus metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)", prefix, metricsPrefix)
	}
	for k := range labels {
		if !labelNameRE.MatchString(k) || strings.HasPrefix(k, "__") || k == "kind" {
			return fmt.Errorf("%s.MetricsLabels: label name %q: must match [a-zA-Z_][a-zA-Z0-9_]*, not start with __, and not be kind", prefix, k)
		}
	}
	return nil
}
