package fault

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/lastevent/lastevent/core"
)

// maxListed bounds the sessions a Verify error names.
const maxListed = 3

// Verify checks, once writes have stopped (after the faults are turned off
// and the tracker's Flush or Close returned nil), that the next backend
// holds exactly want: for each session in want, the stored checkpoint
// has want's event ID and Seq, and a window that belongs to it
// (core.Checkpoint.CheckWindow) and equals want's if want names one (a zero
// checkpoint in want means the session must have none). want must name every session the test wrote: a session the
// Checker saw written that want lacks is reported too. Verify reads the
// next backend with one Load call.
//
// It returns nil when everything matches and no regression was ever found;
// otherwise an error wrapping ErrLost (naming the number of sessions that
// differ and the first few) and/or ErrRegression (see Err). Verify does
// not modify want.
func (c *Checker) Verify(ctx context.Context, want map[string]core.Checkpoint) error {
	sessions := make([]string, 0, len(want))
	for s := range want {
		sessions = append(sessions, s)
	}
	slices.Sort(sessions) // deterministic order of the sessions named
	got, err := c.next.Load(ctx, sessions)
	if err != nil {
		return fmt.Errorf("fault: verify: load of %d sessions: %w", len(sessions), err)
	}

	var bad []string
	for _, s := range sessions {
		w := want[s]
		g, ok := got[s]
		switch {
		case w.IsZero() && ok:
			bad = append(bad, fmt.Sprintf("%q: stored seq %d event %q, want none", s, g.Seq, g.EventID))
		case !w.IsZero() && !ok:
			bad = append(bad, fmt.Sprintf("%q: none stored, want seq %d event %q", s, w.Seq, w.EventID))
		case !w.IsZero() && (g.Seq != w.Seq || g.EventID != w.EventID || g.Session != s):
			bad = append(bad, fmt.Sprintf("%q: stored seq %d event %q, want seq %d event %q", s, g.Seq, g.EventID, w.Seq, w.EventID))
		case !w.IsZero() && g.CheckWindow() != nil:
			bad = append(bad, fmt.Sprintf("%q: %v", s, g.CheckWindow()))
		case w.Window != "" && g.Window != w.Window:
			bad = append(bad, fmt.Sprintf("%q: stored window %v, want %v", s, g.Window, w.Window))
		}
	}
	var unexpected []string
	c.high.Range(func(s string, cp core.Checkpoint) bool {
		if _, ok := want[s]; !ok {
			unexpected = append(unexpected, fmt.Sprintf("%q: written seq %d event %q, not in want", s, cp.Seq, cp.EventID))
		}
		return true
	})
	slices.Sort(unexpected)
	bad = append(bad, unexpected...)

	var lost error
	if len(bad) > 0 {
		lost = fmt.Errorf("%w: %d sessions differ (%d expected): %s", ErrLost, len(bad), len(sessions),
			strings.Join(bad[:min(len(bad), maxListed)], "; "))
	}
	return errors.Join(lost, c.Err())
}
