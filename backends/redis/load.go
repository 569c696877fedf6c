package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lastevent/lastevent/core"
)

// Load returns the stored checkpoints of the named sessions that have one:
// one HMGET of the event ID, Seq and window per distinct session, all in one
// pipeline, one round trip. Repeated names are read once. Any failure fails
// the whole Load with an *Error wrapping core.ErrRetryable or
// core.ErrPermanent that names the first session whose command failed: a
// command error, a hash without its event ID or Seq or with a Seq that is
// not a positive decimal (CodeBadItem), or a stored window that is
// malformed or not the checkpoint's (CodeInvalidWindow, also wrapping
// core.ErrInvalidWindow).
//
// A key of another type (a string, a list: someone else's key under the
// prefix) holds no checkpoint: Load reports its session absent and counts
// it in Stats.WrongType, and every Store of that session fails permanently
// with WRONGTYPE without touching the key. So the foreign key fails its own
// session only, not the Load of every session the tracker loads with it
// before their first write. On
// a replica or a ClusterClient with ReadOnly routing, Load reads what that
// node has; route reads to the master (the default) to see every write.
func (b *Backend) Load(ctx context.Context, sessions []string) (map[string]core.Checkpoint, error) {
	keys := make([]string, 0, len(sessions))
	seen := make(map[string]struct{}, len(sessions))
	for _, s := range sessions {
		if _, dup := seen[s]; !dup {
			seen[s] = struct{}{}
			keys = append(keys, s)
		}
	}
	if len(keys) == 0 {
		return map[string]core.Checkpoint{}, nil
	}
	if ctx.Err() != nil {
		e := ctxFailure("HMGET", keys[0], 0, ctx)
		b.m.failure(e)
		return nil, e
	}
	b.m.loadCalls.Inc()
	pipe := b.client.Pipeline()
	cmds := make([]*goredis.SliceCmd, len(keys))
	for i, s := range keys {
		cmds[i] = pipe.HMGet(ctx, b.Key(s), FieldEventID, FieldSeq, FieldWindow)
	}
	b.m.sent(cmdHMGet, len(keys))
	_, execErr := pipe.Exec(ctx)
	found := make(map[string]core.Checkpoint, len(keys))
	for i, cmd := range cmds {
		vals, err := cmd.Result()
		if err == nil && vals == nil && execErr != nil {
			err = execErr // no reply of its own: see Backend.settle
		}
		if err != nil && goredis.HasErrorPrefix(err, "WRONGTYPE") {
			b.m.wrongType.Inc()
			continue
		}
		if err != nil {
			e := newError("HMGET", keys[i], 0, withContext(ctx, err))
			b.m.failure(e)
			return nil, e
		}
		cp, ok, e := decode(keys[i], vals)
		if e != nil {
			b.m.failure(e)
			return nil, e
		}
		if ok {
			found[keys[i]] = cp
		}
	}
	return found, nil
}

// decode turns the HMGET reply (event ID, Seq, window) of session's hash
// into its checkpoint; ok is false when the hash holds none of the three
// (no key, or an expired one).
func decode(session string, vals []any) (_ core.Checkpoint, ok bool, _ *Error) {
	bad := func(code string, err error) (core.Checkpoint, bool, *Error) {
		return core.Checkpoint{}, false, &Error{Backend: backendName, Op: "HMGET", Session: session, Code: code, Err: err}
	}
	if len(vals) != 3 {
		return bad(CodeUnexpectedReply, fmt.Errorf("HMGET replied %d values, want 3", len(vals)))
	}
	if vals[0] == nil && vals[1] == nil && vals[2] == nil {
		return core.Checkpoint{}, false, nil
	}
	id, ok1 := vals[0].(string)
	q, ok2 := vals[1].(string)
	if !ok1 || !ok2 {
		return bad(CodeBadItem, fmt.Errorf("session %q: field %q or %q missing", session, FieldEventID, FieldSeq))
	}
	seq, err := parseSeq(q)
	if err != nil {
		return bad(CodeBadItem, fmt.Errorf("session %q: field %q: %w", session, FieldSeq, err))
	}
	cp := core.Checkpoint{Session: session, EventID: id, Seq: seq}
	if w, ok := vals[2].(string); ok {
		if cp.Window, err = core.ParseWindow([]byte(w)); err != nil {
			return bad(CodeInvalidWindow, fmt.Errorf("session %q: field %q: %w", session, FieldWindow, err))
		}
	}
	if err := cp.CheckWindow(); err != nil {
		return bad(CodeInvalidWindow, err)
	}
	return cp, true, nil
}

// parseSeq parses a stored Seq: a positive decimal below 2^64 without
// leading zeros, the only form the Store script compares correctly.
func parseSeq(s string) (uint64, error) {
	if s == "" || s[0] == '0' {
		return 0, errors.New("not a positive decimal without leading zeros")
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("not a positive decimal below 2^64: %w", err)
	}
	return n, nil
}
