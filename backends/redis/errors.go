package redis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lastevent/lastevent/core"
)

// Codes this package reports in Error.Code for failures that are not a
// Redis error reply (a reply's code is its first word: "WRONGTYPE",
// "READONLY", ...).
const (
	// CodeCanceled: the caller's context ended first.
	CodeCanceled = "ContextCanceled"
	// CodeTimeout: a network read or write timed out, or no pooled
	// connection became free in time.
	CodeTimeout = "Timeout"
	// CodeNetwork: the connection failed (refused, reset, closed by the
	// server) before a reply arrived.
	CodeNetwork = "NetworkError"
	// CodeClientClosed: the go-redis client was closed by its owner.
	CodeClientClosed = "ClientClosed"
	// CodeInvalidCheckpoint: the checkpoint has an empty session, Seq 0 or
	// a window that is not its own (core.Checkpoint.CheckWindow); no
	// tracker produces one.
	CodeInvalidCheckpoint = "InvalidCheckpoint"
	// CodeBadItem: a stored hash lacks the event ID or Seq, or holds a Seq
	// that is not a positive decimal; someone else wrote it.
	CodeBadItem = "BadItem"
	// CodeInvalidWindow: a stored window is malformed or not its
	// checkpoint's; the error also wraps core.ErrInvalidWindow.
	CodeInvalidWindow = "InvalidWindow"
	// CodeUnexpectedReply: the script answered something other than 0 or 1.
	CodeUnexpectedReply = "UnexpectedReply"
	// CodeBadSeq: the Store script found a stored Seq that is not a positive
	// decimal (the script's own BADSEQ error reply).
	CodeBadSeq = "BADSEQ"
	// CodeMaxClients: the server refused the connection: too many clients.
	CodeMaxClients = "MAXCLIENTS"
	// CodeUnknown: an error this package does not recognise; retryable,
	// as core treats an unclassified error.
	CodeUnknown = "Unknown"
)

// Error is the failure of one Redis command on behalf of one checkpoint, or
// of a whole Load or Delete: a core.BackendError whose Backend is
// "redis", Op the Redis command (EVALSHA, SCRIPT LOAD, HMGET, DEL), and Code the store's error code or one of this
// package's Code* constants. It wraps exactly one of core.ErrRetryable and
// core.ErrPermanent, and the cause.
type Error = core.BackendError

// backendName is Error.Backend for this package.
const backendName = "redis"

// newError classifies err from op on behalf of session and seq.
func newError(op, session string, seq uint64, err error) *Error {
	code, retryable := Classify(err)
	return &Error{Backend: backendName, Op: op, Session: session, Seq: seq, Code: code, Retryable: retryable, Err: err}
}

// Redis error codes by class. A code not listed is permanent: the server
// answered, and it answers the same request the same way.
var retryableCodes = map[string]bool{
	"LOADING":     true, // the server is loading its dataset after a restart
	"BUSY":        true, // a script or function is running too long
	"TRYAGAIN":    true, // a multi-key operation during resharding
	"CLUSTERDOWN": true, // the cluster lost slot coverage
	"MASTERDOWN":  true, // a replica lost its master
	"READONLY":    true, // a failover turned the node into a replica
	"MOVED":       true, // a ClusterClient follows these; a plain client sees them
	"ASK":         true,
	"NOSCRIPT":    true, // the script cache lost the script again after Store reloaded it
	"OOM":         true, // maxmemory reached: frees as keys expire or get evicted
	"NOREPLICAS":  true, // min-replicas-to-write not met
	"UNBLOCKED":   true, // a failover unblocked the client
}

// Classify returns the error code of a failed Redis command and whether
// trying again may succeed. It looks through go-redis's wrapping with
// errors.As:
//
//   - retryable: network errors and timeouts (refused, reset, EOF, i/o
//     timeout, pool timeout), an ended context, the server's LOADING, BUSY,
//     TRYAGAIN, CLUSTERDOWN, MASTERDOWN, READONLY (a failover demoted the
//     node), MOVED and ASK (if they reach the caller), NOSCRIPT, OOM,
//     NOREPLICAS and "max number of clients reached";
//   - permanent: WRONGTYPE (the key holds something else), NOAUTH,
//     WRONGPASS and NOPERM (credentials or ACL), script errors ("ERR
//     user_script:..." and the script's own BADSEQ), any other error reply,
//     and a client closed by its owner;
//   - anything unrecognised is retryable, as core treats an unclassified
//     error.
func Classify(err error) (code string, retryable bool) {
	if err == nil {
		return "", false
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code, e.Retryable
	}
	if errors.Is(err, goredis.ErrClosed) {
		return CodeClientClosed, false
	}
	if goredis.IsMaxClientsError(err) {
		return CodeMaxClients, true
	}
	var reply goredis.Error
	if errors.As(err, &reply) {
		code := replyCode(reply.Error())
		switch {
		case retryableCodes[code]:
			return code, true
		case goredis.IsAuthError(err):
			// "unauthenticated" arrives without a code word of its own.
			if code == "" || code == "ERR" {
				code = "NOAUTH"
			}
			return code, false
		}
		if code == "" {
			code = "ERR"
		}
		return code, false
	}
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return CodeCanceled, true
	case errors.Is(err, goredis.ErrPoolTimeout):
		return CodeTimeout, true
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return CodeTimeout, true
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) || errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return CodeNetwork, true
	}
	return CodeUnknown, true
}

// replyCode is the first word of a Redis error reply, the part Redis means
// as the code ("WRONGTYPE Operation against ..."). KeyDB and KVRocks put
// "ERR " before some codes; that is skipped when a code follows.
func replyCode(msg string) string {
	if rest, ok := strings.CutPrefix(msg, "ERR "); ok {
		if w := firstWord(rest); w != "" && isCode(w) {
			return w
		}
		return "ERR"
	}
	if w := firstWord(msg); isCode(w) {
		return w
	}
	return ""
}

func firstWord(s string) string {
	if i := strings.IndexByte(s, ' '); i >= 0 {
		return s[:i]
	}
	return s
}

// isCode reports whether w looks like a Redis error code: upper-case
// letters only (ERR, WRONGTYPE, CLUSTERDOWN).
func isCode(w string) bool {
	if w == "" {
		return false
	}
	for i := 0; i < len(w); i++ {
		if w[i] < 'A' || w[i] > 'Z' {
			return false
		}
	}
	return true
}

// isNoScript reports whether err is NOSCRIPT: the server's script cache
// lacks the script (restart, failover to a node that never ran it, SCRIPT
// FLUSH). The command did not run.
func isNoScript(err error) bool {
	return err != nil && (errors.Is(err, goredis.ErrNoScript) || goredis.HasErrorPrefix(err, "NOSCRIPT"))
}

// withContext makes err wrap ctx's error (and its cause) when ctx has
// ended, so callers can test errors.Is(err, context.DeadlineExceeded)
// whatever go-redis returned: a net timeout, a closed connection, ... A
// context whose deadline has passed counts as ended even if its timer has
// not fired yet: the client's socket deadline, set from the same deadline,
// can fire first.
func withContext(ctx context.Context, err error) error {
	ctxErr := ctx.Err()
	if dl, ok := ctx.Deadline(); ok && ctxErr == nil && !time.Now().Before(dl) {
		ctxErr = context.DeadlineExceeded
	}
	if ctxErr == nil || errors.Is(err, ctxErr) {
		return err
	}
	if cause := context.Cause(ctx); cause != nil && cause != ctxErr {
		return errors.Join(err, ctxErr, cause)
	}
	return errors.Join(err, ctxErr)
}

// ctxFailure is the error of a call whose context ended before its command
// was sent.
func ctxFailure(op, session string, seq uint64, ctx context.Context) *Error {
	err := fmt.Errorf("not sent: %w", ctx.Err())
	if cause := context.Cause(ctx); cause != nil && cause != ctx.Err() {
		err = fmt.Errorf("not sent: %w (cause: %w)", ctx.Err(), cause)
	}
	return &Error{Backend: backendName, Op: op, Session: session, Seq: seq, Code: CodeCanceled, Retryable: true, Err: err}
}
