package relay

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// logEvery is the least time between two logged errors of one kind: an
// upstream that fails on every reconnect, or an ID refused on every event,
// logs one line per second with a count of the rest, while OnError and the
// metrics still see every one.
const logEvery = time.Second

// reporter files every failure of a Reader, Follow or Relay: it counts it
// by kind, passes it to the OnError hook and logs it, rate-limited per
// kind. Safe for concurrent use.
type reporter struct {
	onError func(*Error)
	logger  *slog.Logger
	counts  [numKinds]atomic.Uint64

	mu     sync.Mutex
	limits [numKinds]logLimiter
}

func newReporter(onError func(*Error), logger *slog.Logger) *reporter {
	return &reporter{onError: onError, logger: logger}
}

// report files e. e.Kind must be a valid kind.
func (r *reporter) report(e *Error) {
	r.counts[e.Kind].Add(1)
	if r.onError != nil {
		r.onError(e)
	}
	r.mu.Lock()
	suppressed, ok := r.limits[e.Kind].allow(time.Now())
	r.mu.Unlock()
	if !ok {
		return
	}
	attrs := []any{"kind", e.Kind.String(), "url", e.URL, "error", e.Err}
	if e.Session != "" {
		attrs = append(attrs, "session", e.Session)
	}
	if suppressed > 0 {
		attrs = append(attrs, "suppressed", suppressed)
	}
	r.logger.Warn("relay: "+e.Kind.String()+" error", attrs...)
}

// errors returns the count of reported errors by kind.
func (r *reporter) errors() (n [numKinds]uint64) {
	for k := range n {
		n[k] = r.counts[k].Load()
	}
	return n
}

// logLimiter lets one line through per logEvery and counts the rest. Not
// safe for concurrent use: the reporter's mutex guards it.
type logLimiter struct {
	last       time.Time
	suppressed int
}

func (l *logLimiter) allow(now time.Time) (suppressed int, ok bool) {
	if !l.last.IsZero() && now.Sub(l.last) < logEvery {
		l.suppressed++
		return 0, false
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	return n, true
}
