package dynamodb_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	lastdynamo "github.com/lastevent/lastevent/backends/dynamodb"
	"github.com/lastevent/lastevent/core"
)

// sdkError wraps cause the way the SDK returns a failed operation: an
// OperationError around the HTTP response error, and for an error the SDK
// retries, a MaxAttemptsError in between.
func sdkError(op string, status int, cause error, retried bool) error {
	var err error = &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: cause},
		RequestID:     "test-request-id",
	}
	if retried {
		err = &retry.MaxAttemptsError{Attempt: 4, Err: err}
	}
	return &smithy.OperationError{ServiceID: "DynamoDB", OperationName: op, Err: err}
}

// failClient wraps the real client and fails every data-plane call with
// the error make builds for the operation, without sending it.
type failClient struct {
	lastdynamo.API
	make func(op string) error
	n    atomic.Int32
}

func (f *failClient) fail(op string) error { f.n.Add(1); return f.make(op) }

func (f *failClient) UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return nil, f.fail("UpdateItem")
}
func (f *failClient) BatchWriteItem(context.Context, *dynamodb.BatchWriteItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	return nil, f.fail("BatchWriteItem")
}
func (f *failClient) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return nil, f.fail("GetItem")
}
func (f *failClient) BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	return nil, f.fail("BatchGetItem")
}
func (f *failClient) DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	return nil, f.fail("DeleteItem")
}

// errorCases are the failures every operation is checked with: the error
// as the SDK returns it, the code and class expected, and an error value
// errors.As must still find through the Backend's wrapping.
type errorCase struct {
	name      string
	make      func(op string) error
	code      string
	retryable bool
	as        func(error) bool
}

func errorCases() []errorCase {
	as := func(target any) func(error) bool { return func(err error) bool { return errors.As(err, target) } }
	var (
		pte   *types.ProvisionedThroughputExceededException
		rle   *types.RequestLimitExceeded
		ise   *types.InternalServerError
		tce   *types.TransactionConflictException
		rnf   *types.ResourceNotFoundException
		api   smithy.APIError
		quota ratelimit.QuotaExceededError
		resp  *smithyhttp.ResponseError
		opErr *net.OpError
	)
	return []errorCase{
		{"ProvisionedThroughputExceeded", func(op string) error {
			return sdkError(op, 400, &types.ProvisionedThroughputExceededException{Message: aws.String("slow down")}, true)
		}, "ProvisionedThroughputExceededException", true, as(&pte)},
		{"ThrottlingException", func(op string) error {
			return sdkError(op, 400, &smithy.GenericAPIError{Code: "ThrottlingException", Message: "rate exceeded", Fault: smithy.FaultClient}, true)
		}, "ThrottlingException", true, as(&api)},
		{"RequestLimitExceeded", func(op string) error {
			return sdkError(op, 400, &types.RequestLimitExceeded{Message: aws.String("account limit")}, true)
		}, "RequestLimitExceeded", true, as(&rle)},
		{"InternalServerError", func(op string) error {
			return sdkError(op, 500, &types.InternalServerError{Message: aws.String("oops")}, true)
		}, "InternalServerError", true, as(&ise)},
		{"ServiceUnavailable", func(op string) error {
			return sdkError(op, 503, &smithy.GenericAPIError{Code: "ServiceUnavailable", Fault: smithy.FaultServer}, true)
		}, "ServiceUnavailable", true, as(&api)},
		{"bare HTTP 502", func(op string) error {
			return sdkError(op, 502, errors.New("bad gateway"), true)
		}, "HTTP502", true, as(&resp)},
		{"TransactionConflict", func(op string) error {
			return sdkError(op, 400, &types.TransactionConflictException{Message: aws.String("conflict")}, false)
		}, "TransactionConflictException", true, as(&tce)},
		{"retry quota exhausted", func(op string) error {
			attempt := sdkError(op, 400, &types.ProvisionedThroughputExceededException{}, false)
			return errors.Join(attempt, fmt.Errorf("failed to get rate limit token, %w", ratelimit.QuotaExceededError{Available: 2, Requested: 5}))
		}, "ProvisionedThroughputExceededException", true, as(&quota)},
		{"connection refused", func(op string) error {
			return &smithy.OperationError{ServiceID: "DynamoDB", OperationName: op, Err: &smithyhttp.RequestSendError{
				Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}}
		}, lastdynamo.CodeNetwork, true, as(&opErr)},
		{"unexpected EOF", func(op string) error {
			return &smithy.OperationError{ServiceID: "DynamoDB", OperationName: op, Err: &smithyhttp.RequestSendError{Err: io.ErrUnexpectedEOF}}
		}, lastdynamo.CodeNetwork, true, func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }},
		{"deadline", func(op string) error {
			return &smithy.OperationError{ServiceID: "DynamoDB", OperationName: op, Err: &smithy.CanceledError{Err: context.DeadlineExceeded}}
		}, lastdynamo.CodeCanceled, true, func(err error) bool { return errors.Is(err, context.DeadlineExceeded) }},
		{"ValidationException", func(op string) error {
			return sdkError(op, 400, &smithy.GenericAPIError{Code: "ValidationException", Message: "Item size has exceeded the maximum allowed size", Fault: smithy.FaultClient}, false)
		}, "ValidationException", false, as(&api)},
		{"ResourceNotFound", func(op string) error {
			return sdkError(op, 400, &types.ResourceNotFoundException{Message: aws.String("no table")}, false)
		}, "ResourceNotFoundException", false, as(&rnf)},
		{"AccessDenied", func(op string) error {
			return sdkError(op, 400, &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not allowed", Fault: smithy.FaultClient}, false)
		}, "AccessDeniedException", false, as(&api)},
	}
}

// checkError asserts err is an *Error of the expected class and code that
// names session and seq and still unwraps to the SDK's error.
func checkError(t *testing.T, what string, err error, op, session string, seq uint64, code string, retryable bool, as func(error) bool) {
	t.Helper()
	var e *lastdynamo.Error
	switch {
	case !errors.As(err, &e):
		t.Errorf("%s: got %T %v, want a *dynamodb.Error", what, err, err)
		return
	case e.Op != op || e.Session != session || e.Seq != seq || e.Code != code || e.Retryable != retryable:
		t.Errorf("%s: got Op %q Session %q Seq %d Code %q Retryable %v, want %q %q %d %q %v",
			what, e.Op, e.Session, e.Seq, e.Code, e.Retryable, op, session, seq, code, retryable)
	case core.IsRetryable(err) != retryable || errors.Is(err, core.ErrRetryable) != retryable || errors.Is(err, core.ErrPermanent) == retryable:
		t.Errorf("%s: %v: class wrapping disagrees with retryable=%v", what, err, retryable)
	case !as(err):
		t.Errorf("%s: %v: the SDK's error is not reachable with errors.As/Is", what, err)
	case !strings.Contains(err.Error(), code) || (session != "" && !strings.Contains(err.Error(), session)) ||
		(seq != 0 && !strings.Contains(err.Error(), fmt.Sprintf("seq %d", seq))):
		t.Errorf("%s: message %q does not name the code, session and seq", what, err)
	}
}

func TestErrorClassesOfEveryOperation(t *testing.T) {
	client := newClient(t)
	cfg := newTable(t, client, lastdynamo.Config{})
	ctx := ctxT(t)
	for _, tc := range errorCases() {
		t.Run(tc.name, func(t *testing.T) {
			f := &failClient{API: client, make: tc.make}
			cond := newBackend(t, f, cfg)
			bcfg := cfg
			bcfg.Mode = lastdynamo.Batch
			batch := newBackend(t, f, bcfg)

			for _, m := range []struct {
				b  *lastdynamo.Backend
				op string
			}{{cond, "UpdateItem"}, {batch, "BatchWriteItem"}} {
				in := []core.Checkpoint{cp("s1", "e", 3), cp("s2", "e", 4)}
				res := store(ctx, m.b, in...)
				for i, r := range res {
					if r.Outcome != core.OutcomeFailed {
						t.Fatalf("%s Store(%+v): got %v, want failed", m.op, in[i], r.Outcome)
					}
					checkError(t, m.op+" Store", r.Err, m.op, in[i].Session, in[i].Seq, tc.code, tc.retryable, tc.as)
				}
			}
			_, err := cond.Load(ctx, []string{"s1"})
			checkError(t, "Load one", err, "GetItem", "s1", 0, tc.code, tc.retryable, tc.as)
			_, err = cond.Load(ctx, []string{"s1", "s2"})
			checkError(t, "Load many", err, "BatchGetItem", "", 0, tc.code, tc.retryable, tc.as)
			err = cond.Delete(ctx, "s1")
			checkError(t, "Delete", err, "DeleteItem", "s1", 0, tc.code, tc.retryable, tc.as)
			// No retry of a failed call inside the backend: the SDK has
			// retried already and the tracker retries with its own backoff.
			// 2 UpdateItem + 1 BatchWriteItem + GetItem + BatchGetItem + DeleteItem.
			if got := f.n.Load(); got != 6 {
				t.Errorf("calls made: got %d, want 6 (one per request, no extra retries)", got)
			}
		})
	}
}

// Errors from the real server and the real SDK, not built by the test.
func TestErrorsFromTheServer(t *testing.T) {
	client := newClient(t)
	ctx := ctxT(t)

	t.Run("missing table", func(t *testing.T) {
		b := newBackend(t, client, lastdynamo.Config{Table: tableName(t)})
		r := store(ctx, b, cp("s", "e", 1))[0]
		var rnf *types.ResourceNotFoundException
		checkError(t, "Store to a missing table", r.Err, "UpdateItem", "s", 1, "ResourceNotFoundException", false,
			func(err error) bool { return errors.As(err, &rnf) })
	})

	t.Run("item too large", func(t *testing.T) {
		cfg := newTable(t, client, lastdynamo.Config{})
		for _, mode := range []lastdynamo.Mode{lastdynamo.Conditional, lastdynamo.Batch} {
			c := cfg
			c.Mode = mode
			b := newBackend(t, client, c)
			huge := strings.Repeat("x", 401*1024)
			r := store(ctx, b, cp("big", huge, 1))[0]
			var api smithy.APIError
			op := map[lastdynamo.Mode]string{lastdynamo.Conditional: "UpdateItem", lastdynamo.Batch: "BatchWriteItem"}[mode]
			checkError(t, mode.String()+" Store of a 401 KB item", r.Err, op, "big", 1, "ValidationException", false,
				func(err error) bool { return errors.As(err, &api) })
		}
	})

	t.Run("connection refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close() // nothing listens there now
		dead := newClient(t, func(o *dynamodb.Options) {
			o.BaseEndpoint = aws.String("http://" + addr)
			o.RetryMaxAttempts = 1
		})
		b := newBackend(t, dead, lastdynamo.Config{Table: "unreachable"})
		r := store(ctx, b, cp("s", "e", 1))[0]
		var sendErr *smithyhttp.RequestSendError
		checkError(t, "Store to a closed port", r.Err, "UpdateItem", "s", 1, lastdynamo.CodeNetwork, true,
			func(err error) bool { return errors.As(err, &sendErr) })
	})

	t.Run("deadline", func(t *testing.T) {
		cfg := newTable(t, client, lastdynamo.Config{})
		slow := newClient(t, func(o *dynamodb.Options) {
			o.HTTPClient = &http.Client{Transport: delayTransport{delay: time.Second}}
		})
		b := newBackend(t, slow, cfg)
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		r := store(short, b, cp("s", "e", 1))[0]
		checkError(t, "Store past its deadline", r.Err, "UpdateItem", "s", 1, lastdynamo.CodeCanceled, true,
			func(err error) bool { return errors.Is(err, context.DeadlineExceeded) })
	})

	t.Run("SDK retry quota exhausted", func(t *testing.T) {
		cfg := newTable(t, client, lastdynamo.Config{})
		var sent atomic.Int32
		// A real SDK client whose every response is a throttle, with a retry
		// token bucket of 10: a throttled retry costs 5, so the SDK makes 3
		// attempts and then fails with "failed to get rate limit token".
		throttled := newClient(t, func(o *dynamodb.Options) {
			o.HTTPClient = &http.Client{Transport: throttleTransport{sent: &sent}}
			o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = 10
				so.RateLimiter = ratelimit.NewTokenRateLimit(10)
				so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			})
		})
		b := newBackend(t, throttled, cfg)
		r := store(ctx, b, cp("s", "e", 1))[0]
		var quota ratelimit.QuotaExceededError
		checkError(t, "Store with the retry bucket empty", r.Err, "UpdateItem", "s", 1, "ProvisionedThroughputExceededException", true,
			func(err error) bool { return errors.As(err, &quota) })
		if got := sent.Load(); got != 3 {
			t.Errorf("HTTP attempts: got %d, want 3 (then the bucket is empty)", got)
		}
		// The bucket stays empty: the next call is not retried at all.
		store(ctx, b, cp("s", "e", 2))
		if got := sent.Load(); got != 4 {
			t.Errorf("HTTP attempts after a second Store: got %d, want 4", got)
		}
	})
}

// delayTransport answers nothing before delay, or the request's context end.
type delayTransport struct{ delay time.Duration }

func (d delayTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t := time.NewTimer(d.delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil, errors.New("test: delayTransport never answers")
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
}

// throttleTransport answers the first first requests (every request if
// first is 0) with DynamoDB's throttling response, as the service sends it,
// and forwards the rest to the test server. It counts every request.
type throttleTransport struct {
	sent  *atomic.Int32
	first int32
}

func (tt throttleTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if n := tt.sent.Add(1); tt.first > 0 && n > tt.first {
		return transport.RoundTrip(r)
	}
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	body := `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}`
	return &http.Response{
		StatusCode:    400,
		Status:        "400 Bad Request",
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"application/x-amz-json-1.0"}, "X-Amzn-Requestid": {"throttle-test"}},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       r,
	}, nil
}
