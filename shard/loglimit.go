package shard

import "time"

// logLimiter lets one failure line through per period and counts the rest,
// so an outage logs a bounded number of lines however many sessions fail.
// Not safe for concurrent use: each flusher owns one.
type logLimiter struct {
	every      time.Duration
	last       time.Time
	suppressed int
}

// allow reports whether a line may be logged now and, if so, how many lines
// were suppressed since the last one.
func (l *logLimiter) allow(now time.Time) (suppressed int, ok bool) {
	if !l.last.IsZero() && now.Sub(l.last) < l.every {
		l.suppressed++
		return 0, false
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	return n, true
}
