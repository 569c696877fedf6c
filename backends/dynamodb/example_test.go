package dynamodb_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	lastdynamo "github.com/lastevent/lastevent/backends/dynamodb"
	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/shard"
)

// A tracker persisting to DynamoDB. The client is built from the caller's
// AWS configuration (config.LoadDefaultConfig in a real program) with the
// recommended retry settings: few SDK attempts, since the tracker retries a
// failed session with its own backoff anyway.
func ExampleNew() {
	awsCfg := aws.Config{Region: "us-east-1"} // config.LoadDefaultConfig(ctx) in a real program
	client := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = 3
			so.MaxBackoff = time.Second
		})
	})
	ctx := context.Background()
	cfg := lastdynamo.Config{Table: "lastevent-checkpoints", TTL: 7 * 24 * time.Hour}
	if err := lastdynamo.CreateTable(ctx, client, cfg); err != nil { // first run only
		log.Fatal(err)
	}
	backend, err := lastdynamo.New(client, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer backend.Close() // runs after the tracker's Close below

	tracker, err := shard.New(backend, shard.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer tracker.Close(ctx)

	if _, err := tracker.Resume(ctx, "session-1"); err != nil { // continue the stored Seq
		log.Print(err)
	}
	_, _ = tracker.Observe("session-1", "42")
}

// Classify tells the tracker's retry apart from a failure that needs an
// operator: throttling is retryable, a validation error is not.
func ExampleClassify() {
	throttled := &smithy.OperationError{ServiceID: "DynamoDB", OperationName: "UpdateItem",
		Err: &types.ProvisionedThroughputExceededException{Message: aws.String("slow down")}}
	invalid := &smithy.OperationError{ServiceID: "DynamoDB", OperationName: "UpdateItem",
		Err: &smithy.GenericAPIError{Code: "ValidationException", Message: "Item size has exceeded the maximum allowed size"}}
	for _, err := range []error{throttled, invalid, context.DeadlineExceeded} {
		code, retryable := lastdynamo.Classify(err)
		fmt.Printf("%s retryable=%v\n", code, retryable)
	}

	// A Store failure carries the class, the checkpoint and the code.
	err := &lastdynamo.Error{Backend: "dynamodb", Op: "UpdateItem", Session: "s", Seq: 3, Code: "ValidationException", Err: invalid}
	var e *lastdynamo.Error
	fmt.Println(errors.Is(err, core.ErrPermanent), errors.As(err, &e) && e.Code == "ValidationException")
	// Output:
	// ProvisionedThroughputExceededException retryable=true
	// ValidationException retryable=false
	// ContextCanceled retryable=true
	// true true
}
