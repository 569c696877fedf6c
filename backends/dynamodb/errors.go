package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/lastevent/lastevent/core"
)

// ErrClosed is returned (wrapped with core.ErrPermanent) by every call made
// after Close, and for the items a Store still held when Close stopped it.
var ErrClosed = errors.New("lastevent/dynamodb: backend closed")

// Codes this package reports in Error.Code for failures that are not AWS
// error responses.
const (
	// CodeCanceled: the caller's context ended first.
	CodeCanceled = "ContextCanceled"
	// CodeRetryQuotaExceeded: the SDK's retry token bucket was empty, so the
	// SDK gave up without retrying ("failed to get rate limit token").
	CodeRetryQuotaExceeded = "RetryQuotaExceeded"
	// CodeNetwork: the request did not get an HTTP response.
	CodeNetwork = "NetworkError"
	// CodeUnprocessed: a batch call left the item unprocessed until the
	// context ended.
	CodeUnprocessed = "Unprocessed"
	// CodeClosed: the Backend was closed.
	CodeClosed = "Closed"
	// CodeInvalidCheckpoint: the checkpoint has an empty session or Seq 0,
	// or a window that fails core.Checkpoint.CheckWindow (Err then wraps
	// core.ErrInvalidWindow); no tracker produces one.
	CodeInvalidCheckpoint = "InvalidCheckpoint"
	// CodeBadItem: a stored item lacks an attribute or holds one of the wrong
	// type, or a window that fails core.ParseWindow or
	// core.Checkpoint.CheckWindow (Err then wraps core.ErrInvalidWindow);
	// someone else wrote it.
	CodeBadItem = "BadItem"
)

// Error is the failure of one DynamoDB operation on behalf of one checkpoint, or
// of a whole Load or Delete: a core.BackendError whose Backend is
// "dynamodb", Op the DynamoDB operation (UpdateItem, BatchWriteItem, GetItem, BatchGetItem, DeleteItem), and Code the store's error code or one of this
// package's Code* constants. It wraps exactly one of core.ErrRetryable and
// core.ErrPermanent, and the cause.
type Error = core.BackendError

// backendName is Error.Backend for this package.
const backendName = "dynamodb"

// newError classifies err from op on behalf of session and seq.
func newError(op, session string, seq uint64, err error) *Error {
	code, retryable := Classify(err)
	return &Error{Backend: backendName, Op: op, Session: session, Seq: seq, Code: code, Retryable: retryable, Err: err}
}

// AWS error codes by class. The SDK's typed errors carry these codes too;
// the code sets catch the ones the service model does not type (DynamoDB's
// ThrottlingException and ValidationException arrive as generic API errors)
// and errors rebuilt from a code by another layer.
var (
	throttleCodes = map[string]bool{
		"ProvisionedThroughputExceededException": true,
		"ThrottlingException":                    true,
		"RequestLimitExceeded":                   true,
		"Throttling":                             true,
		"TooManyRequestsException":               true,
		"LimitExceededException":                 true,
	}
	retryableCodes = map[string]bool{
		"InternalServerError":              true,
		"InternalFailure":                  true,
		"ServiceUnavailable":               true,
		"RequestTimeout":                   true,
		"RequestTimeoutException":          true,
		"TransactionConflictException":     true,
		"TransactionInProgressException":   true,
		"ReplicatedWriteConflictException": true,
		// Credentials that expired or a skewed clock: the SDK refreshes the
		// credentials and corrects the skew on later calls.
		"ExpiredTokenException":     true,
		"RequestExpired":            true,
		"InvalidSignatureException": true,
	}
	permanentCodes = map[string]bool{
		"ValidationException":                      true,
		"ResourceNotFoundException":                true,
		"AccessDeniedException":                    true,
		"UnrecognizedClientException":              true,
		"MissingAuthenticationTokenException":      true,
		"IncompleteSignatureException":             true,
		"SerializationException":                   true,
		"ItemCollectionSizeLimitExceededException": true,
	}
)

// Classify returns the error code of a failed DynamoDB call and whether
// trying again may succeed. It looks through the SDK's wrapping with
// errors.As:
//
//   - retryable: throttling (ProvisionedThroughputExceededException,
//     ThrottlingException, RequestLimitExceeded), InternalServerError and
//     any other server fault or HTTP 5xx, TransactionConflictException, the
//     SDK's exhausted retry token bucket (ratelimit.QuotaExceededError) and
//     exhausted attempts (*retry.MaxAttemptsError, which wraps only
//     retryable errors), timeouts, network errors and an ended context;
//   - permanent: ValidationException (including an item over 400 KB),
//     ResourceNotFoundException, AccessDeniedException and the other
//     client faults;
//   - anything unrecognised is retryable, as core treats an unclassified
//     error.
func Classify(err error) (code string, retryable bool) {
	if err == nil {
		return "", false
	}
	var apiErr smithy.APIError
	hasAPI := errors.As(err, &apiErr)
	if hasAPI {
		code = apiErr.ErrorCode()
	}

	var quota ratelimit.QuotaExceededError
	if errors.As(err, &quota) {
		// The SDK joins the attempt's error with the quota error; the
		// attempt's error was retryable, or the SDK would not have asked
		// for a retry token.
		if code = causeCode(err); code == "" {
			code = CodeRetryQuotaExceeded
		}
		return code, true
	}
	var maxAttempts *retry.MaxAttemptsError
	if errors.As(err, &maxAttempts) {
		// The SDK gives up this way only on errors it deems retryable.
		if code = causeCode(maxAttempts.Err); code == "" {
			code = "MaxAttemptsExceeded"
		}
		return code, true
	}

	// Typed errors first: they survive any wrapping and need no string.
	var (
		pte      *types.ProvisionedThroughputExceededException
		rle      *types.RequestLimitExceeded
		thr      *types.ThrottlingException
		ise      *types.InternalServerError
		tce      *types.TransactionConflictException
		rwc      *types.ReplicatedWriteConflictException
		rnf      *types.ResourceNotFoundException
		icl      *types.ItemCollectionSizeLimitExceededException
		ccf      *types.ConditionalCheckFailedException
		canceled *smithy.CanceledError
	)
	switch {
	case errors.As(err, &pte), errors.As(err, &rle), errors.As(err, &thr),
		errors.As(err, &ise), errors.As(err, &tce), errors.As(err, &rwc):
		return code, true
	case errors.As(err, &rnf), errors.As(err, &icl):
		return code, false
	case errors.As(err, &ccf):
		// Callers handle a failed condition (stale) before classifying; a
		// condition that fails elsewhere will fail again.
		return code, false
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.As(err, &canceled):
		if code == "" {
			code = CodeCanceled
		}
		return code, true
	}

	if hasAPI {
		switch {
		case throttleCodes[code], retryableCodes[code]:
			return code, true
		case permanentCodes[code]:
			return code, false
		case apiErr.ErrorFault() == smithy.FaultServer:
			return code, true
		}
	}
	var (
		sendErr *smithyhttp.RequestSendError // the SDK's "failed to send the request"
		netErr  net.Error
		opErr   *net.OpError
	)
	if errors.As(err, &sendErr) || errors.As(err, &netErr) || errors.As(err, &opErr) {
		// Before the response error: the SDK wraps a request that got no
		// response in one with status 0.
		return CodeNetwork, true
	}
	var respErr *smithyhttp.ResponseError
	if errors.As(err, &respErr) {
		status := respErr.HTTPStatusCode()
		if code == "" {
			code = fmt.Sprintf("HTTP%d", status)
		}
		// 429 is throttling; other 4xx answers repeat for the same request.
		return code, status >= 500 || status == 429
	}
	if hasAPI {
		// A client fault with a code not listed: the same request gets the
		// same answer.
		return code, apiErr.ErrorFault() != smithy.FaultClient
	}
	return "Unknown", true
}

// causeCode names what an attempt failed with: the AWS error code, the
// HTTP status, a network error, or "".
func causeCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return CodeCanceled
	}
	var (
		sendErr *smithyhttp.RequestSendError
		netErr  net.Error
		opErr   *net.OpError
	)
	if errors.As(err, &sendErr) || errors.As(err, &netErr) || errors.As(err, &opErr) {
		return CodeNetwork
	}
	var respErr *smithyhttp.ResponseError
	if errors.As(err, &respErr) {
		return fmt.Sprintf("HTTP%d", respErr.HTTPStatusCode())
	}
	return ""
}

// isThrottle reports whether err is DynamoDB throttling, for the throttle
// counter.
func isThrottle(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && throttleCodes[apiErr.ErrorCode()]
}

// isConditionFailed reports whether err is a failed ConditionExpression.
func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return true
	}
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == "ConditionalCheckFailedException"
}
