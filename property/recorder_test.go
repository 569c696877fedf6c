package property

import (
	"context"
	"fmt"
	"sync"

	"github.com/lastevent/lastevent/core"
)

// recorder wraps the real backend and checks every Store result it passes
// back: a Written checkpoint must have a higher Seq than every checkpoint
// written for that session before (the stored Seq never decreases), and a
// Stale one must not be newer than the newest written (a refused checkpoint
// is one the backend already superseded, never one it lost). It also keeps
// every written checkpoint so a property can check each was a real
// checkpoint of the model.
//
// The recorder sits below any fault injection, so it sees exactly what
// reaches the real backend. It is safe for concurrent use.
type recorder struct {
	next core.Backend

	mu         sync.Mutex
	newest     map[string]uint64 // highest Seq written per session
	written    []core.Checkpoint // since the last take
	violations []string
}

func newRecorder(next core.Backend) *recorder {
	return &recorder{next: next, newest: make(map[string]uint64)}
}

func (r *recorder) Store(ctx context.Context, batch []core.Checkpoint, results []core.Result) {
	r.next.Store(ctx, batch, results)
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, cp := range batch {
		switch newest := r.newest[cp.Session]; results[i].Outcome {
		case core.OutcomeWritten:
			if cp.Seq <= newest {
				r.violations = append(r.violations,
					fmt.Sprintf("backend wrote %q seq %d over seq %d: stored Seq moved backwards", cp.Session, cp.Seq, newest))
			} else {
				r.newest[cp.Session] = cp.Seq
			}
			r.written = append(r.written, cp)
		case core.OutcomeStale:
			if cp.Seq > newest {
				r.violations = append(r.violations,
					fmt.Sprintf("backend refused %q seq %d as stale but holds only seq %d: checkpoint lost", cp.Session, cp.Seq, newest))
			}
		}
	}
}

func (r *recorder) Load(ctx context.Context, sessions []string) (map[string]core.Checkpoint, error) {
	return r.next.Load(ctx, sessions)
}

func (r *recorder) Delete(ctx context.Context, session string) error {
	err := r.next.Delete(ctx, session)
	if err == nil {
		r.mu.Lock()
		delete(r.newest, session)
		r.mu.Unlock()
	}
	return err
}

// take returns the checkpoints written and the violations seen since the
// previous call.
func (r *recorder) take() (written []core.Checkpoint, violations []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	written, violations = r.written, r.violations
	r.written, r.violations = nil, nil
	return written, violations
}
