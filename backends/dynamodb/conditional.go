package dynamodb

import (
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/lastevent/lastevent/core"
)

// update writes c.batch[i] with one conditional UpdateItem: the item is set
// only if it has no seq yet or a lower one, so a checkpoint never moves
// backwards whoever else writes the table. The window is set, or removed
// when the checkpoint has none, by the same request under the same
// condition. A refused condition means an equal or newer checkpoint is
// stored: the stale outcome, not an error.
func (b *Backend) update(c *call, i int) {
	cp := c.batch[i]
	if c.ctx.Err() != nil {
		c.results[i] = ctxFailure("UpdateItem", cp, c.ctx)
		return
	}
	out, err := b.api.UpdateItem(c.ctx, &dynamodb.UpdateItemInput{
		TableName:                 &b.sch.table,
		Key:                       b.sch.key(cp.Session),
		UpdateExpression:          b.sch.updateExpr(cp),
		ConditionExpression:       &b.sch.condition,
		ExpressionAttributeNames:  b.sch.names,
		ExpressionAttributeValues: b.sch.updateValues(cp, c.now),
		ReturnConsumedCapacity:    b.capacity,
	})
	switch {
	case err == nil:
		b.m.call(opUpdateItem, nil, false)
		if out.ConsumedCapacity != nil {
			b.m.consumed(opUpdateItem, *out.ConsumedCapacity)
		}
		c.results[i] = core.Result{Outcome: core.OutcomeWritten}
	case isConditionFailed(err):
		b.m.call(opUpdateItem, nil, true)
		c.results[i] = core.Result{Outcome: core.OutcomeStale}
	default:
		b.m.call(opUpdateItem, err, false)
		c.results[i] = failed(newError("UpdateItem", cp.Session, cp.Seq, withContext(c.ctx, err)))
	}
}
