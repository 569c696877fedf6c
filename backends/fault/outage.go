package fault

import "time"

// window is one outage: from its start until its end, or without end.
// The zero window is no outage.
type window struct {
	from, until time.Time
	active      bool
	endless     bool // lasts until EndOutage or Set
}

// scheduled is cfg's outage, timed from now.
func scheduled(cfg *Config, now time.Time) window {
	if cfg.OutageFor <= 0 {
		return window{}
	}
	from := now.Add(cfg.OutageAfter)
	return window{from: from, until: from.Add(cfg.OutageFor), active: true}
}

// covers reports whether t falls inside the outage.
func (w *window) covers(t time.Time) bool {
	return w.active && !t.Before(w.from) && (w.endless || t.Before(w.until))
}

// StartOutage starts an outage now that lasts d, or until EndOutage or Set
// when d <= 0. It replaces any outage already started or scheduled. While
// it lasts every call fails at once, retryable, wrapping ErrOutage, and
// counts in Stats.OutageCalls; nothing reaches the next backend.
func (b *Backend) StartOutage(d time.Duration) {
	b.update(func(s *state) {
		now := b.now()
		s.outage = window{from: now, until: now.Add(d), active: true, endless: d <= 0}
	})
}

// EndOutage ends the outage in progress, or cancels the one scheduled.
// Calls made after it returns pass (subject to the other faults).
func (b *Backend) EndOutage() {
	b.update(func(s *state) { s.outage = window{} })
}

// InOutage reports whether a call made now would be refused by an outage.
func (b *Backend) InOutage() bool {
	return b.inOutage(b.state.Load())
}

// inOutage reports whether st's outage covers now; it reads the clock only
// when an outage is started or scheduled.
func (b *Backend) inOutage(st *state) bool {
	return st.outage.active && st.outage.covers(b.now())
}
