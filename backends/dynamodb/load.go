package dynamodb

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/lastevent/lastevent/core"
)

// maxBatchGet is BatchGetItem's limit of keys per call.
const maxBatchGet = 100

// Load returns the stored checkpoints of the named sessions that have one,
// with strongly consistent reads: a checkpoint any writer stored before Load
// began is seen. One session is one GetItem on the caller's goroutine; more
// go in BatchGetItem groups of 100 on the worker goroutines, and the keys
// DynamoDB leaves unprocessed are retried with exponential backoff and
// jitter until ctx ends. Repeated names are read once. Each checkpoint
// comes back with its stored window. Any failure fails the whole Load with
// an *Error wrapping core.ErrRetryable or core.ErrPermanent; a stored item
// this package could not have written, such as one whose window fails
// core.Checkpoint.CheckWindow, is a permanent CodeBadItem failure (for a
// window, also wrapping core.ErrInvalidWindow) naming the session.
func (b *Backend) Load(ctx context.Context, sessions []string) (map[string]core.Checkpoint, error) {
	if b.closed.Load() {
		return nil, closedError("BatchGetItem", "", 0)
	}
	keys := make([]string, 0, len(sessions))
	seen := make(map[string]struct{}, len(sessions))
	for _, s := range sessions {
		if _, dup := seen[s]; !dup {
			seen[s] = struct{}{}
			keys = append(keys, s)
		}
	}
	switch len(keys) {
	case 0:
		return map[string]core.Checkpoint{}, nil
	case 1:
		return b.getOne(ctx, keys[0])
	}
	c := &call{ctx: ctx, kind: kindBatchGet, keys: keys, found: make(map[string]core.Checkpoint, len(keys))}
	if _, stopped := b.dispatch(c, len(keys), maxBatchGet); stopped != nil && c.err == nil {
		if stopped == ErrClosed {
			c.err = closedError("BatchGetItem", "", 0)
		} else {
			c.err = &Error{Backend: backendName, Op: "BatchGetItem", Code: CodeCanceled, Retryable: true, Err: stopped}
		}
	}
	if c.err != nil {
		return nil, c.err
	}
	return c.found, nil
}

// getOne loads one session with a consistent GetItem.
func (b *Backend) getOne(ctx context.Context, session string) (map[string]core.Checkpoint, error) {
	out, err := b.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                &b.sch.table,
		Key:                      b.sch.key(session),
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     &b.sch.projection,
		ExpressionAttributeNames: b.sch.projNames,
		ReturnConsumedCapacity:   b.capacity,
	})
	b.m.call(opGetItem, err, false)
	if err != nil {
		return nil, newError("GetItem", session, 0, withContext(ctx, err))
	}
	if out.ConsumedCapacity != nil {
		b.m.consumed(opGetItem, *out.ConsumedCapacity)
	}
	found := make(map[string]core.Checkpoint, 1)
	if out.Item != nil {
		cp, err := b.sch.checkpoint(out.Item)
		if err != nil {
			return nil, &Error{Backend: backendName, Op: "GetItem", Session: session, Code: CodeBadItem, Err: err}
		}
		if cp.Session != session {
			return nil, &Error{Backend: backendName, Op: "GetItem", Session: session, Code: CodeBadItem,
				Err: fmt.Errorf("item for %q came back as %q", session, cp.Session)}
		}
		found[session] = cp
	}
	return found, nil
}

// batchGet reads keys (at most 100) into c.found, retrying unprocessed keys.
func (b *Backend) batchGet(c *call, keys []string) {
	ka := types.KeysAndAttributes{
		Keys:                     make([]map[string]types.AttributeValue, len(keys)),
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     &b.sch.projection,
		ExpressionAttributeNames: b.sch.projNames,
	}
	for i, k := range keys {
		ka.Keys[i] = b.sch.key(k)
	}
	for attempt := 0; ; attempt++ {
		if c.failed() {
			return // another group failed: the Load has failed
		}
		out, err := b.api.BatchGetItem(c.ctx, &dynamodb.BatchGetItemInput{
			RequestItems:           map[string]types.KeysAndAttributes{b.sch.table: ka},
			ReturnConsumedCapacity: b.capacity,
		})
		b.m.call(opBatchGetItem, err, false)
		if err != nil {
			c.fail(newError("BatchGetItem", "", 0, withContext(c.ctx, err)))
			return
		}
		b.m.consumed(opBatchGetItem, out.ConsumedCapacity...)
		for _, it := range out.Responses[b.sch.table] {
			cp, err := b.sch.checkpoint(it)
			if err != nil {
				c.fail(&Error{Backend: backendName, Op: "BatchGetItem", Code: CodeBadItem, Err: err})
				return
			}
			c.add(cp)
		}
		left, ok := out.UnprocessedKeys[b.sch.table]
		if !ok || len(left.Keys) == 0 {
			return
		}
		b.m.unprocKeys.Add(len(left.Keys))
		ka.Keys = left.Keys
		if err := b.wait(c.ctx, attempt); err != nil {
			if err == ErrClosed {
				c.fail(closedError("BatchGetItem", "", 0))
			} else {
				c.fail(&Error{Backend: backendName, Op: "BatchGetItem", Code: CodeUnprocessed, Retryable: true, Err: err})
			}
			return
		}
	}
}

func (c *call) add(cp core.Checkpoint) {
	c.mu.Lock()
	c.found[cp.Session] = cp
	c.mu.Unlock()
}

func (c *call) fail(err *Error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
}

func (c *call) failed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err != nil
}
