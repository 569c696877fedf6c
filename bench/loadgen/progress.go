package main

import (
	"fmt"
	"io"
	"time"
)

// progress prints one line per second while the run goes: totals so far and
// the rate of the last second against the target. Its goroutine is started
// before the measurement window, like the workers.
type progress struct {
	out     io.Writer
	workers []*worker
	tracker system
	backend *checkingBackend
	target  float64 // events/s requested
	stop    chan struct{}
	done    chan struct{}
}

func startProgress(out io.Writer, workers []*worker, t system, b *checkingBackend, target float64, g *gate) *progress {
	p := &progress{out: out, workers: workers, tracker: t, backend: b, target: target,
		stop: make(chan struct{}), done: make(chan struct{})}
	go p.run(g)
	return p
}

// close stops the progress goroutine and waits for it.
func (p *progress) close() {
	close(p.stop)
	<-p.done
}

func (p *progress) run(g *gate) {
	defer close(p.done)
	select {
	case <-g.open:
	case <-p.stop:
		return
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var prevObserved uint64
	prevAt := g.start
	for {
		select {
		case now := <-t.C:
			var c counts
			for _, w := range p.workers {
				c.observed += w.live.observed.Load()
				c.accepted += w.live.accepted.Load()
				c.deduplicated += w.live.deduplicated.Load()
				c.dropped += w.live.dropped.Load()
			}
			rate := float64(c.observed-prevObserved) / now.Sub(prevAt).Seconds()
			prevObserved, prevAt = c.observed, now
			fmt.Fprintf(p.out, "[%5.1fs] observed %s  accepted %s  dups %s  dropped %s  sessions %s  backend writes %s  rate %s/s of %s/s (%.0f%%)\n",
				now.Sub(g.start).Seconds(), group(c.observed), group(c.accepted), group(c.deduplicated),
				group(c.dropped), group(uint64(p.tracker.Sessions())), group(p.backend.written.Load()),
				group(uint64(rate)), group(uint64(p.target)), 100*rate/p.target)
		case <-p.stop:
			return
		}
	}
}
