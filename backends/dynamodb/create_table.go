package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/lastevent/lastevent/internal/backoff"
)

// ErrTableMismatch is returned (wrapped, with the difference) by CreateTable
// when the table exists with a key schema other than the one Config needs.
var ErrTableMismatch = errors.New("lastevent/dynamodb: table key schema mismatch")

// Polling of DescribeTable while a table is being created: the first wait
// and the longest.
const (
	tablePollFirst = 50 * time.Millisecond
	tablePollMax   = 2 * time.Second
)

// CreateTable makes sure cfg.Table exists with the key schema a Backend
// needs, a single partition key named cfg.SessionAttribute of type S, and
// waits until it is ACTIVE or ctx ends. A missing table is created with
// on-demand (PAY_PER_REQUEST) billing. An existing table with that key
// schema is left as it is (a no-op apart from the wait); one with another
// key schema yields an error wrapping ErrTableMismatch that names the
// difference. Two processes may call CreateTable for one table at once.
//
// CreateTable does not enable TTL (see Config.TTL and the README) and is
// meant for tests and first runs: production tables are better declared
// with the account's infrastructure tooling.
func CreateTable(ctx context.Context, api TableAPI, cfg Config) error {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return err
	}
	desc, err := describe(ctx, api, cfg.Table)
	if err != nil {
		return err
	}
	if desc == nil {
		_, err := api.CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName:            &cfg.Table,
			BillingMode:          types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{{AttributeName: &cfg.SessionAttribute, AttributeType: types.ScalarAttributeTypeS}},
			KeySchema:            []types.KeySchemaElement{{AttributeName: &cfg.SessionAttribute, KeyType: types.KeyTypeHash}},
		})
		var inUse *types.ResourceInUseException
		if err != nil && !errors.As(err, &inUse) { // in use: another process created it first
			return fmt.Errorf("lastevent/dynamodb: create table %q: %w", cfg.Table, err)
		}
	}
	for delay := tablePollFirst; ; delay = min(2*delay, tablePollMax) {
		if desc != nil {
			if err := checkKeySchema(desc, cfg.SessionAttribute); err != nil {
				return err
			}
			if desc.TableStatus == types.TableStatusActive {
				return nil
			}
			if desc.TableStatus == types.TableStatusDeleting {
				return fmt.Errorf("lastevent/dynamodb: table %q is being deleted", cfg.Table)
			}
		}
		if err := backoff.Wait(ctx, delay, nil); err != nil {
			return fmt.Errorf("lastevent/dynamodb: waiting for table %q to become ACTIVE: %w", cfg.Table, err)
		}
		if desc, err = describe(ctx, api, cfg.Table); err != nil {
			return err
		}
	}
}

// describe returns the table's description, or nil if it does not exist.
func describe(ctx context.Context, api TableAPI, table string) (*types.TableDescription, error) {
	out, err := api.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &table})
	var notFound *types.ResourceNotFoundException
	switch {
	case errors.As(err, &notFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("lastevent/dynamodb: describe table %q: %w", table, err)
	case out.Table == nil:
		return nil, fmt.Errorf("lastevent/dynamodb: describe table %q: no table in the response", table)
	}
	return out.Table, nil
}

// checkKeySchema returns an error wrapping ErrTableMismatch unless the table
// has exactly one key, a HASH key named session of type S.
func checkKeySchema(t *types.TableDescription, session string) error {
	name := ""
	if t.TableName != nil {
		name = *t.TableName
	}
	var keys []string
	hashOK := false
	for _, k := range t.KeySchema {
		attr := deref(k.AttributeName)
		keys = append(keys, fmt.Sprintf("%s (%s)", attr, k.KeyType))
		if k.KeyType == types.KeyTypeHash && attr == session {
			hashOK = true
		}
	}
	if !hashOK || len(t.KeySchema) != 1 {
		return fmt.Errorf("%w: table %q has key %v, want only the partition (HASH) key %q of type S",
			ErrTableMismatch, name, keys, session)
	}
	for _, d := range t.AttributeDefinitions {
		if deref(d.AttributeName) == session && d.AttributeType != types.ScalarAttributeTypeS {
			return fmt.Errorf("%w: table %q: key attribute %q has type %s, want S",
				ErrTableMismatch, name, session, d.AttributeType)
		}
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
