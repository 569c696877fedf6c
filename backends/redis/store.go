package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lastevent/lastevent/core"
)

// Store writes batch and fills results[i] for batch[i], as core.Backend
// requires: each checkpoint is one EVALSHA of the Store script (see the
// package documentation), and the whole batch is one pipeline, one round
// trip. The script writes a checkpoint only if its Seq is higher than the
// stored one and reports it core.OutcomeWritten, else core.OutcomeStale.
// Several checkpoints of one session in a batch run in batch order, so the
// highest Seq is the one that stays.
//
// When the server answers NOSCRIPT (it lost its script cache: a restart, a
// failover, SCRIPT FLUSH), the command did not run; Store loads the script
// with SCRIPT LOAD and sends the refused items again in a second pipeline:
// two more round trips, once per loss. go-redis's Script.Run cannot do this
// for a pipeline: a queued EVALSHA has no reply yet when Run looks at it.
//
// Failures are *Error values wrapping core.ErrRetryable or core.ErrPermanent
// and go-redis's error (see Classify); a failure of the pipeline's
// connection fails every item it carried. When ctx ends, the checkpoints
// not yet written fail retryably wrapping ctx.Err(). A checkpoint with an
// empty session, Seq 0 or a window that fails core.Checkpoint.CheckWindow
// fails permanently without a command. Store does not retain batch or
// results; it allocates the pipeline's commands and keys.
func (b *Backend) Store(ctx context.Context, batch []core.Checkpoint, results []core.Result) {
	if len(batch) == 0 {
		return
	}
	if ctx.Err() != nil {
		for i, cp := range batch {
			results[i] = b.fail(ctxFailure("EVALSHA", cp.Session, cp.Seq, ctx))
		}
		return
	}
	send := make([]int, 0, len(batch)) // indexes of batch to write
	for i, cp := range batch {
		if err := checkCheckpoint(cp); err != nil {
			results[i] = b.fail(&Error{Backend: backendName, Op: "EVALSHA", Session: cp.Session, Seq: cp.Seq, Code: CodeInvalidCheckpoint, Err: err})
			continue
		}
		send = append(send, i)
	}
	if len(send) == 0 {
		return
	}
	b.m.storeCalls.Inc()
	now := strconv.FormatInt(b.cfg.Now().UnixMilli(), 10)
	cmds, execErr := b.evalPipeline(ctx, batch, send, now)
	var again []int // refused with NOSCRIPT: the script did not run
	for k, i := range send {
		if isNoScript(cmds[k].Err()) {
			again = append(again, i)
			continue
		}
		results[i] = b.settle(ctx, batch[i], cmds[k], execErr)
	}
	if len(again) == 0 {
		return
	}
	b.m.sent(cmdScriptLoad, 1)
	if err := storeScript.Load(ctx, b.client).Err(); err != nil {
		for _, i := range again {
			results[i] = b.fail(newError("SCRIPT LOAD", batch[i].Session, batch[i].Seq, withContext(ctx, err)))
		}
		return
	}
	cmds, execErr = b.evalPipeline(ctx, batch, again, now)
	for k, i := range again {
		// A second NOSCRIPT (the cache was flushed again in between) fails
		// retryably: the tracker's next attempt reloads it.
		results[i] = b.settle(ctx, batch[i], cmds[k], execErr)
	}
}

// evalPipeline sends one EVALSHA of the Store script per batch[i], i in
// idx, in one pipeline, and returns the commands in idx's order with their
// replies or errors, and the pipeline's own error.
func (b *Backend) evalPipeline(ctx context.Context, batch []core.Checkpoint, idx []int, now string) ([]*goredis.Cmd, error) {
	pipe := b.client.Pipeline()
	cmds := make([]*goredis.Cmd, len(idx))
	ttl := strconv.FormatInt(b.ttlMS, 10)
	sha := storeScript.Hash()
	for k, i := range idx {
		cp := batch[i]
		cmds[k] = pipe.EvalSha(ctx, sha, []string{b.Key(cp.Session)},
			strconv.FormatUint(cp.Seq, 10), cp.EventID, string(cp.Window), now, ttl)
	}
	b.m.sent(cmdEvalSha, len(idx))
	_, err := pipe.Exec(ctx)
	return cmds, err
}

// settle turns the reply of cp's EVALSHA into its result and counts it.
// execErr is the pipeline's error: go-redis leaves it off the commands
// when the connection failed to initialise with an error reply (WRONGPASS
// during AUTH), so a command without a reply of its own takes it.
func (b *Backend) settle(ctx context.Context, cp core.Checkpoint, cmd *goredis.Cmd, execErr error) core.Result {
	v, err := cmd.Result()
	if err == nil && v == nil && execErr != nil {
		err = execErr
	}
	if err != nil {
		return b.fail(newError("EVALSHA", cp.Session, cp.Seq, withContext(ctx, err)))
	}
	switch v {
	case int64(1):
		b.m.checkpoints[outWritten].Inc()
		return core.Result{Outcome: core.OutcomeWritten}
	case int64(0):
		b.m.checkpoints[outStale].Inc()
		return core.Result{Outcome: core.OutcomeStale}
	}
	return b.fail(&Error{Backend: backendName, Op: "EVALSHA", Session: cp.Session, Seq: cp.Seq, Code: CodeUnexpectedReply,
		Err: fmt.Errorf("script replied %v (%T), want 0 or 1", v, v)})
}

// fail counts a failed item and returns its result.
func (b *Backend) fail(e *Error) core.Result {
	b.m.checkpoints[outFailed].Inc()
	b.m.failure(e)
	return core.Result{Outcome: core.OutcomeFailed, Err: e}
}

// checkCheckpoint rejects what no tracker produces: an empty session, Seq 0,
// or a window that is not the checkpoint's.
func checkCheckpoint(cp core.Checkpoint) error {
	if cp.Session == "" || cp.Seq == 0 {
		return errors.New("empty session or zero seq")
	}
	return cp.CheckWindow()
}
