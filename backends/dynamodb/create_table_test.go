package dynamodb_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	lastdynamo "github.com/lastevent/lastevent/backends/dynamodb"
)

func TestCreateTable(t *testing.T) {
	client := newClient(t)
	ctx := ctxT(t)
	cfg := newTable(t, client, lastdynamo.Config{SessionAttribute: "sid"})
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(cfg.Table)})
	if err != nil {
		t.Fatalf("DescribeTable: %v", err)
	}
	tb := out.Table
	if tb.TableStatus != types.TableStatusActive || len(tb.KeySchema) != 1 || *tb.KeySchema[0].AttributeName != "sid" ||
		tb.KeySchema[0].KeyType != types.KeyTypeHash || tb.BillingModeSummary == nil ||
		tb.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
		t.Fatalf("created table: %+v, want ACTIVE, on-demand, HASH key sid", tb)
	}
	// Existing with the right schema: a no-op, however often.
	for range 2 {
		if err := lastdynamo.CreateTable(ctx, client, cfg); err != nil {
			t.Fatalf("CreateTable of an existing table: %v", err)
		}
	}
	// The Backend works with the renamed key.
	b := newBackend(t, client, cfg)
	mustStored(t, nil, store(ctx, b, cp("s", "e", 1)))
	if got, err := b.Load(ctx, []string{"s"}); err != nil || got["s"] != cp("s", "e", 1) {
		t.Fatalf("Load with key sid: got (%v, %v)", got, err)
	}
}

func TestCreateTableRejectsOtherKeySchemas(t *testing.T) {
	client := newClient(t)
	ctx := ctxT(t)
	for _, tc := range []struct {
		name  string
		attrs []types.AttributeDefinition
		keys  []types.KeySchemaElement
		want  string
	}{
		{"other hash key",
			[]types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
			[]types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
			`pk (HASH)`},
		{"sort key too",
			[]types.AttributeDefinition{{AttributeName: aws.String("session"), AttributeType: types.ScalarAttributeTypeS}, {AttributeName: aws.String("ts"), AttributeType: types.ScalarAttributeTypeN}},
			[]types.KeySchemaElement{{AttributeName: aws.String("session"), KeyType: types.KeyTypeHash}, {AttributeName: aws.String("ts"), KeyType: types.KeyTypeRange}},
			`ts (RANGE)`},
		{"numeric session",
			[]types.AttributeDefinition{{AttributeName: aws.String("session"), AttributeType: types.ScalarAttributeTypeN}},
			[]types.KeySchemaElement{{AttributeName: aws.String("session"), KeyType: types.KeyTypeHash}},
			`has type N, want S`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := tableName(t)
			if _, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String(name), AttributeDefinitions: tc.attrs,
				KeySchema: tc.keys, BillingMode: types.BillingModePayPerRequest}); err != nil {
				t.Fatalf("CreateTable (raw): %v", err)
			}
			t.Cleanup(func() {
				_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
			})
			err := lastdynamo.CreateTable(ctx, client, lastdynamo.Config{Table: name})
			if !errors.Is(err, lastdynamo.ErrTableMismatch) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), name) {
				t.Fatalf("CreateTable over %s: got %v, want ErrTableMismatch naming the table and %q", tc.name, err, tc.want)
			}
		})
	}
}

func TestCreateTableHonoursContextAndConfig(t *testing.T) {
	client := newClient(t)
	if err := lastdynamo.CreateTable(ctxT(t), client, lastdynamo.Config{}); err == nil || !strings.Contains(err.Error(), "Config.Table") {
		t.Fatalf("CreateTable without a table name: got %v, want an error naming Config.Table", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	if err := lastdynamo.CreateTable(ctx, client, lastdynamo.Config{Table: tableName(t)}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("CreateTable with an ended context: got %v, want DeadlineExceeded", err)
	}
}
