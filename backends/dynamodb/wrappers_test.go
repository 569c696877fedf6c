package dynamodb_test

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	lastdynamo "github.com/lastevent/lastevent/backends/dynamodb"
)

// dropClient wraps the real client and, like a throttled table, processes
// only the first half (rounded up) of each BatchWriteItem and BatchGetItem:
// it sends that half to the server and hands the rest back as
// UnprocessedItems or UnprocessedKeys. Requests whose session is in stuck
// are never processed. It records every request it forwarded.
type dropClient struct {
	lastdynamo.API
	table string
	stuck map[string]bool

	mu          sync.Mutex
	writeCalls  int
	getCalls    int
	droppedPuts int
	droppedKeys int
	forwarded   [][]string // sessions of each forwarded batch call
}

func (d *dropClient) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	reqs := in.RequestItems[d.table]
	var send, drop []types.WriteRequest
	for _, r := range reqs {
		s := r.PutRequest.Item["session"].(*types.AttributeValueMemberS).Value
		if d.stuck[s] || len(send) >= (len(reqs)+1)/2 {
			drop = append(drop, r)
		} else {
			send = append(send, r)
		}
	}
	d.mu.Lock()
	d.writeCalls++
	d.droppedPuts += len(drop)
	d.mu.Unlock()
	out := &dynamodb.BatchWriteItemOutput{}
	if len(send) > 0 {
		var err error
		out, err = d.API.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{d.table: send}, ReturnConsumedCapacity: in.ReturnConsumedCapacity}, o...)
		if err != nil {
			return nil, err
		}
		d.record(sessionsOfPuts(send))
	}
	if len(drop) > 0 {
		if out.UnprocessedItems == nil {
			out.UnprocessedItems = map[string][]types.WriteRequest{}
		}
		out.UnprocessedItems[d.table] = append(out.UnprocessedItems[d.table], drop...)
	}
	return out, nil
}

func (d *dropClient) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	ka := in.RequestItems[d.table]
	half := (len(ka.Keys) + 1) / 2
	send, drop := ka, ka
	send.Keys, drop.Keys = ka.Keys[:half], ka.Keys[half:]
	d.mu.Lock()
	d.getCalls++
	d.droppedKeys += len(drop.Keys)
	d.mu.Unlock()
	out, err := d.API.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{d.table: send}, ReturnConsumedCapacity: in.ReturnConsumedCapacity}, o...)
	if err != nil {
		return nil, err
	}
	if len(drop.Keys) > 0 {
		if out.UnprocessedKeys == nil {
			out.UnprocessedKeys = map[string]types.KeysAndAttributes{}
		}
		left := out.UnprocessedKeys[d.table]
		drop.Keys = append(drop.Keys, left.Keys...)
		out.UnprocessedKeys[d.table] = drop
	}
	return out, nil
}

func (d *dropClient) record(s []string) {
	d.mu.Lock()
	d.forwarded = append(d.forwarded, s)
	d.mu.Unlock()
}

func sessionsOfPuts(reqs []types.WriteRequest) []string {
	s := make([]string, len(reqs))
	for i, r := range reqs {
		s[i] = r.PutRequest.Item["session"].(*types.AttributeValueMemberS).Value
	}
	return s
}
