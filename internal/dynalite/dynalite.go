// Package dynalite is test support for the DynamoDB API server that
// tools/dynalite/run.sh starts for `make test` (dynalite, pinned in
// tools/dynalite): where it is, and an SDK client for it. The tests of
// backends/dynamodb, property and bench share it.
package dynalite

import (
	"context"
	"net/http"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// EndpointEnv names the variable run.sh sets to the server's URL.
const EndpointEnv = "LASTEVENT_DYNAMODB_ENDPOINT"

// Endpoint returns the server's URL and whether one is configured.
func Endpoint() (string, bool) {
	ep := os.Getenv(EndpointEnv)
	return ep, ep != ""
}

// Require returns the server's URL. Without one it skips tb with a message
// saying how to run it, or, under CI=true, where a skip would hide the
// suite, fails tb.
func Require(tb testing.TB) string {
	tb.Helper()
	ep, ok := Endpoint()
	if !ok {
		msg := EndpointEnv + " is unset: run `make test`, which starts dynalite, or tools/dynalite/run.sh go test ./..."
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return ep
}

// Client returns a real SDK client for the server at endpoint, in
// us-east-1 with dummy static credentials (dynalite checks none), sending
// through hc. opts adjust its options (retryer, endpoint, ...).
func Client(endpoint string, hc *http.Client, opts ...func(*dynamodb.Options)) *dynamodb.Client {
	o := dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test", Source: "lastevent-dynalite"}, nil
		}),
		HTTPClient: hc,
	}
	for _, f := range opts {
		f(&o)
	}
	return dynamodb.New(o)
}
