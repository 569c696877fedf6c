package property

import (
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	lastdynamo "github.com/lastevent/lastevent/backends/dynamodb"
	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/internal/dynalite"
)

// httpTransport is shared by every DynamoDB client of the package, so
// TestMain can close its idle keep-alive connections (and their goroutines)
// before looking for leaks.
var httpTransport = http.DefaultTransport.(*http.Transport).Clone()

// dynamoBackend returns DynamoDB as a backend under test when
// LASTEVENT_DYNAMODB_ENDPOINT is set: a fresh table for the calling test
// (deleted when it ends) and one Backend shared by its command sequences,
// which use distinct session names.
func dynamoBackend(t *testing.T) (backendUnderTest, bool) {
	ep, ok := dynalite.Endpoint()
	if !ok {
		return backendUnderTest{}, false
	}
	client := dynalite.Client(ep, &http.Client{Transport: httpTransport, Timeout: generous})
	cfg := lastdynamo.Config{Table: fmt.Sprintf("le-property-%d-%d", os.Getpid(), time.Now().UnixNano())}
	ctx, cancel := contextWithTimeout(generous)
	defer cancel()
	if err := lastdynamo.CreateTable(ctx, client, cfg); err != nil {
		t.Fatalf("CreateTable(%q) at %s: %v", cfg.Table, ep, err)
	}
	b, err := lastdynamo.New(client, cfg)
	if err != nil {
		t.Fatalf("dynamodb.New(%+v): %v", cfg, err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("dynamodb Backend.Close: %v", err)
		}
		ctx, cancel := contextWithTimeout(generous)
		defer cancel()
		if _, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(cfg.Table)}); err != nil {
			t.Errorf("DeleteTable(%q): %v", cfg.Table, err)
		}
	})
	return backendUnderTest{
		name:       "dynamodb",
		open:       func(*testing.T) core.Backend { return b },
		casesScale: 50, // each command reads the table: half the sequences
	}, true
}
