package shard

// Eviction keeps memory bounded (Config.MaxSessions, Config.IdleTTL). Only
// the flusher evicts, and only clean entries: not queued, not failing, newest
// checkpoint stored. The sweep is a CLOCK over s.clock, the entries the
// flusher has seen, so its work per tick is a slice of the sessions rather
// than all of them.
//
// Evicting is loss-free against a racing Observe: the flusher sets the
// entry's evicted flag under its writer flag, then removes it from the map.
// An Observe that reached the entry before the removal finds the flag under
// the writer flag and moves to a live entry that carries the evicted one's
// last checkpoint over (Tracker.revive); one that arrives after the removal
// creates a new entry, whose first write is preceded by a Load of the stored
// checkpoint (adopt). Either way the stored Seq continues the evicted one's;
// in memory, the second way counts from 1 until that first write, and its
// window starts empty (the first way carries the last ID over).

// sweep visits entries with the CLOCK hand and evicts idle ones, and under
// MaxSessions pressure (over seven eighths of MaxSessions in memory, or a
// wake from an Observe that hit the limit) the least recently active clean
// ones. IdleTTL sweeping spreads one revolution over a quarter of IdleTTL,
// so a session is evicted between IdleTTL and 1.25*IdleTTL after its last
// event.
func (s *shard) sweep(now int64, woken bool) {
	n := len(s.clock)
	if n == 0 {
		s.swept = now
		return
	}
	idleBudget := 0
	if ttl := int64(s.cfg.IdleTTL); ttl > 0 {
		lap := max(ttl/4, 1)
		elapsed := min(max(now-s.swept, 0), lap)
		idleBudget = int(int64(n)*elapsed/lap) + 1
	}
	s.swept = now
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
	for visited := 0; len(s.clock) > 0 && visited < 2*n &&
		(visited < idleBudget || evicted < quota); visited++ {
		if s.hand >= len(s.clock) {
			s.hand = 0
			s.lap = now
		}
		e := s.clock[s.hand]
		if reason, ok := s.visit(e, now, evicted < quota); ok {
			if reason != evictGone {
				s.counts.evicted[reason].Add(1)
			}
			last := len(s.clock) - 1
			s.clock[s.hand] = s.clock[last]
			s.clock[last] = nil
			s.clock = s.clock[:last]
			evicted++
			continue
		}
		s.hand++
	}
	if cap(s.clock) > 64 && len(s.clock) < cap(s.clock)/4 {
		s.clock = append([]*entry(nil), s.clock...) // give back a shrunken shard's slice
	}
}

// visit applies the CLOCK rule to one entry and reports whether it left the
// clock (evicted), and why (evictIdle or evictPressure). A reference bit (a duplicate seen since the last visit)
// counts as activity now. Under pressure, an entry active since the hand's
// last lap gets its second chance; an idle one goes after IdleTTL.
func (s *shard) visit(e *entry, now int64, pressure bool) (reason int, evicted bool) {
	if e.state.Load()&stateDeleted != 0 {
		return evictGone, true // Tracker.Delete removed it: leave the clock uncounted
	}
	if e.state.And(^stateRef)&stateRef != 0 {
		e.active = now
		return 0, false
	}
	reason = evictPressure
	if s.cfg.IdleTTL > 0 && now-e.active >= int64(s.cfg.IdleTTL) {
		reason = evictIdle
	} else if !pressure || e.active > s.lap {
		return 0, false
	}
	e.Lock()
	if !e.cleanLocked() || e.state.Load()&stateRef != 0 {
		e.Unlock()
		return 0, false
	}
	e.state.Or(stateEvicted)
	s.collectLocked(e) // counts not yet collected would leave with the entry
	e.Unlock()
	s.remove(e, func() bool { return true })
	return reason, true
}
