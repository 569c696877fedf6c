package shard

// Eviction keeps memory bounded (Config.MaxSessions, Config.IdleTTL). Only
// the flusher evicts, and only clean entries (entry.cleanLocked: not queued,
// not failing, newest checkpoint stored). The sweep is a CLOCK over the
// entries the flusher has taken, so its work per tick is a slice of the
// sessions rather than all of them.
//
// Evicting is loss-free against a racing Observe: the flusher makes the
// entry evicted under its writer flag, then removes it from the map. An
// Observe that reached the entry before the removal finds it gone under the
// writer flag and moves to a live entry that carries the evicted one's
// checkpoint and window over (Tracker.lockLive); one that arrives after the
// removal creates a new entry, whose first write is preceded by a Load of
// the stored checkpoint (adopt). Either way the stored Seq continues the
// evicted one's; in memory, the second way counts from 1 until that first
// write, and its window starts empty until the stored one joins it.

// clock is the sweep's state: every entry the flusher has taken, in CLOCK
// order, and the hand. Flusher-owned.
type clock struct {
	entries []*entry
	hand    int   // the next index of entries to visit
	lap     int64 // clock time the hand last wrapped to 0
	swept   int64 // clock time of the last sweep
}

// add puts a newly tracked entry on the clock.
func (c *clock) add(e *entry) { c.entries = append(c.entries, e) }

// sweep is the cycle's last stage, and runs on its own when an Observe hit
// MaxSessions (woken). It visits entries with the CLOCK hand and evicts idle
// ones, and under MaxSessions pressure (over seven eighths of MaxSessions
// in memory, or woken) the least recently active clean ones. IdleTTL
// sweeping spreads one revolution over a quarter of IdleTTL, so a session
// is evicted between IdleTTL and 1.25*IdleTTL after its last event.
func (s *shard) sweep(now int64, woken bool) {
	c := &s.clock
	n := len(c.entries)
	if n == 0 {
		c.swept = now
		return
	}
	idleBudget := 0
	if ttl := int64(s.cfg.IdleTTL); ttl > 0 {
		lap := max(ttl/4, 1)
		elapsed := min(max(now-c.swept, 0), lap)
		idleBudget = int(int64(n)*elapsed/lap) + 1
	}
	c.swept = now
	quota := 0
	if limit := int64(s.cfg.MaxSessions); limit > 0 {
		target := limit - limit/8
		if woken {
			target = min(target, limit-1)
		}
		if live := s.live.Load(); live > target {
			quota = int((live-target)*int64(n)/live) + 1
		}
	}
	evicted := 0
	for visited := 0; len(c.entries) > 0 && visited < 2*n &&
		(visited < idleBudget || evicted < quota); visited++ {
		if c.hand >= len(c.entries) {
			c.hand = 0
			c.lap = now
		}
		e := c.entries[c.hand]
		if reason, ok := s.visit(e, now, evicted < quota); ok {
			if reason != evictGone {
				s.counts.evicted[reason].Add(1)
			}
			last := len(c.entries) - 1
			c.entries[c.hand] = c.entries[last]
			c.entries[last] = nil
			c.entries = c.entries[:last]
			evicted++
			continue
		}
		c.hand++
	}
	if cap(c.entries) > 64 && len(c.entries) < cap(c.entries)/4 {
		c.entries = append([]*entry(nil), c.entries...) // give back a shrunken shard's slice
	}
}

// visit applies the CLOCK rule to one entry and reports whether it left the
// clock (evicted), and why (evictIdle or evictPressure). A reference bit (a
// duplicate seen since the last visit) counts as activity now. Under
// pressure, an entry active since the hand's last lap gets its second
// chance; an idle one goes after IdleTTL.
func (s *shard) visit(e *entry, now int64, pressure bool) (reason int, evicted bool) {
	if e.deleted() {
		return evictGone, true // Tracker.Delete removed it: leave the clock uncounted
	}
	if e.takeReference() {
		e.active = now
		return 0, false
	}
	reason = evictPressure
	if s.cfg.IdleTTL > 0 && now-e.active >= int64(s.cfg.IdleTTL) {
		reason = evictIdle
	} else if !pressure || e.active > s.clock.lap {
		return 0, false
	}
	e.Lock()
	if !e.cleanLocked() || e.referenced() {
		e.Unlock()
		return 0, false
	}
	e.evictLocked()
	s.collectLocked(e) // counts not yet collected would leave with the entry
	e.Unlock()
	s.remove(e, func() bool { return true })
	return reason, true
}
