package dynamodb

import (
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/lastevent/lastevent/core"
)

// batchWrite puts the checkpoints c.batch[idx] (at most 25, distinct
// sessions) with BatchWriteItem, retrying the items DynamoDB leaves
// unprocessed with exponential backoff and full jitter until the call's
// context ends. BatchWriteItem takes no condition: each put replaces the
// stored item whatever its Seq (see Batch). A put replaces the whole item,
// so a checkpoint without a window leaves none stored.
func (b *Backend) batchWrite(c *call, idx []int) {
	bySession := make(map[string]int, len(idx)) // session -> index into c.batch
	reqs := make([]types.WriteRequest, len(idx))
	for k, i := range idx {
		cp := c.batch[i]
		bySession[cp.Session] = i
		reqs[k] = types.WriteRequest{PutRequest: &types.PutRequest{Item: b.sch.item(cp, c.now)}}
	}
	for attempt := 0; ; attempt++ {
		if c.ctx.Err() != nil {
			code := CodeCanceled
			if attempt > 0 {
				code = CodeUnprocessed // DynamoDB left these unprocessed until now
			}
			b.failWrites(c, bySession, reqs, &Error{Backend: backendName, Op: "BatchWriteItem", Code: code, Retryable: true, Err: c.ctx.Err()})
			return
		}
		out, err := b.api.BatchWriteItem(c.ctx, &dynamodb.BatchWriteItemInput{
			RequestItems:           map[string][]types.WriteRequest{b.sch.table: reqs},
			ReturnConsumedCapacity: b.capacity,
		})
		b.m.call(opBatchWriteItem, err, false)
		if err != nil {
			b.failWrites(c, bySession, reqs, newError("BatchWriteItem", "", 0, withContext(c.ctx, err)))
			return
		}
		b.m.consumed(opBatchWriteItem, out.ConsumedCapacity...)
		left := out.UnprocessedItems[b.sch.table]
		for _, r := range reqs { // written unless left: mark all, then undo
			c.results[bySession[b.sessionOf(r)]] = core.Result{Outcome: core.OutcomeWritten}
		}
		for _, r := range left {
			c.results[bySession[b.sessionOf(r)]] = core.Result{}
		}
		if len(left) == 0 {
			return
		}
		b.m.unprocItems.Add(len(left))
		reqs = left
		if err := b.wait(c.ctx, attempt); err != nil {
			e := &Error{Backend: backendName, Op: "BatchWriteItem", Code: CodeUnprocessed, Retryable: err != ErrClosed, Err: err}
			if err == ErrClosed {
				e.Code = CodeClosed
			}
			b.failWrites(c, bySession, reqs, e)
			return
		}
	}
}

// failWrites reports every checkpoint of reqs failed with a copy of e that
// names the checkpoint.
func (b *Backend) failWrites(c *call, bySession map[string]int, reqs []types.WriteRequest, e *Error) {
	for _, r := range reqs {
		i := bySession[b.sessionOf(r)]
		one := *e
		one.Session, one.Seq = c.batch[i].Session, c.batch[i].Seq
		c.results[i] = failed(&one)
	}
}

// sessionOf returns the session key of a put request this package built
// (or DynamoDB returned unprocessed).
func (b *Backend) sessionOf(r types.WriteRequest) string {
	if r.PutRequest == nil {
		return ""
	}
	s, _ := r.PutRequest.Item[b.sch.session].(*types.AttributeValueMemberS)
	if s == nil {
		return ""
	}
	return s.Value
}
