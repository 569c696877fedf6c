package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/lastevent/lastevent/backends/dynamodb"
	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/core"
)

// backendFlags select and configure the Tracker's backend.
type backendFlags struct {
	kind, endpoint, table, region string
	createTable                   bool
}

func (b *backendFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&b.kind, "backend", "memory", "checkpoint store: memory (lost on exit) or dynamodb")
	fs.StringVar(&b.endpoint, "endpoint", "", "DynamoDB endpoint URL, e.g. dynalite's (default: AWS's for -region)")
	fs.StringVar(&b.table, "table", "lastevent-sserelay", "DynamoDB table")
	fs.StringVar(&b.region, "region", "us-east-1", "AWS region")
	fs.BoolVar(&b.createTable, "create-table", false, "create the DynamoDB table if it does not exist")
}

// open returns the backend and a function that releases it.
func (b *backendFlags) open(ctx context.Context) (core.Backend, func(), error) {
	switch b.kind {
	case "memory":
		return memory.New(), func() {}, nil
	case "dynamodb":
	default:
		return nil, nil, fmt.Errorf("-backend %q: want memory or dynamodb", b.kind)
	}
	opts := awsddb.Options{Region: b.region, Credentials: envCredentials(b.endpoint != "")}
	if b.endpoint != "" {
		opts.BaseEndpoint = aws.String(b.endpoint)
	}
	client := awsddb.New(opts)
	cfg := dynamodb.Config{Table: b.table}
	if b.createTable {
		if err := dynamodb.CreateTable(ctx, client, cfg); err != nil {
			return nil, nil, err
		}
	}
	be, err := dynamodb.New(client, cfg)
	if err != nil {
		return nil, nil, err
	}
	return be, func() { _ = be.Close() }, nil
}

// envCredentials reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN. With a custom endpoint (dynalite, DynamoDB Local) and
// none set, it answers with placeholder keys, which those servers accept.
func envCredentials(local bool) aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		c := aws.Credentials{
			AccessKeyID:     os.Getenv("AWS_ACCESS_KEY_ID"),
			SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY"),
			SessionToken:    os.Getenv("AWS_SESSION_TOKEN"),
			Source:          "environment",
		}
		if c.AccessKeyID == "" && local {
			c.AccessKeyID, c.SecretAccessKey, c.Source = "local", "local", "placeholder for a local endpoint"
		}
		if c.AccessKeyID == "" || c.SecretAccessKey == "" {
			return aws.Credentials{}, errors.New("relay: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
		}
		return c, nil
	})
}
