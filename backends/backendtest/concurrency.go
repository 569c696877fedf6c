package backendtest

import (
	"math/rand/v2"
	"strconv"
	"sync"

	"github.com/lastevent/lastevent/core"
)

// Sizes of checkConcurrentStores: 6 writers of 6 batches of up to 7 items
// is 252 items, 36 racing writes per shared session from 6 writers, and
// quick against a store across a network (DynamoDB conditional mode makes
// each item one request).
const (
	concWriters = 6
	concRounds  = 6
	concShared  = 6
	// concWindow hashes per checkpoint: small, since only whether the
	// window travels with its Seq matters here.
	concWindow = 3
)

// checkConcurrentStores runs writers that call Store at once. Each writer
// stores an ascending Seq to a session of its own and, for a monotonic
// backend, random Seqs to sessions every writer shares (unique per writer,
// so the winner of each session is known). Afterwards each session holds
// the highest Seq any writer stored, with that checkpoint's window (the
// window must race under the same condition as the Seq); with
// Harness.Reopen, half the writers use a second handle and both handles
// load the same.
func checkConcurrentStores(e *env) error {
	var p problems
	handles := []core.Backend{e.b}
	if e.reopen != nil {
		handles = append(handles, e.reopen())
	}
	shared := 0
	if e.monotonic {
		shared = concShared
	}
	var (
		mu   sync.Mutex
		errs problems
		best = make(map[string]core.Checkpoint, concWriters+shared)
		wg   sync.WaitGroup
	)
	for w := range concWriters {
		b := handles[w%len(handles)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			own := e.ns + "own-" + strconv.Itoa(w)
			mine := map[string]core.Checkpoint{}
			var bad problems
			batch := make([]core.Checkpoint, 1+shared)
			results := make([]core.Result, len(batch))
			for round := range concRounds {
				batch[0] = withWindow(cp(own, "r"+strconv.Itoa(round), uint64(round+1)), concWindow, 0)
				for i := 1; i < len(batch); i++ {
					seq := rng.Uint64N(1000)*concWriters + uint64(w) + 1 // unique per writer
					batch[i] = withWindow(cp(e.ns+"shared-"+strconv.Itoa(i), "e"+strconv.FormatUint(seq, 10), seq), concWindow, uint64(w))
				}
				b.Store(e.ctx, batch, results)
				for i, r := range results {
					c := batch[i]
					if !r.Stored() || (i == 0 && r.Outcome != core.OutcomeWritten) {
						bad.addf("writer %d: Store(%q seq %d): got %v (%v), want written (own session) or stored", w, c.Session, c.Seq, r.Outcome, r.Err)
					}
					if c.Seq > mine[c.Session].Seq {
						mine[c.Session] = c
					}
				}
			}
			mu.Lock()
			defer mu.Unlock()
			errs = append(errs, bad...)
			for s, c := range mine {
				if c.Seq > best[s].Seq {
					best[s] = c
				}
			}
		}()
	}
	wg.Wait()
	p = append(p, errs...)
	names := make([]string, 0, len(best))
	for s := range best {
		names = append(names, s)
	}
	for _, b := range handles {
		loadExact(e.ctx, b, names, best, &p)
	}
	return p.err()
}
