package relay

import (
	"errors"
	"fmt"
)

var (
	// ErrClosed ends every client stream when its Relay closes; ServeHTTP
	// answers 503 from then on.
	ErrClosed = errors.New("relay: closed")
	// ErrRejected is returned by Follow with FollowConfig.StopOnReject when
	// the upstream answers a request with a 4xx status other than 429: it
	// will not serve that position, and asking again will not help.
	ErrRejected = errors.New("relay: upstream rejected the stream")
	// ErrRunning is returned by Reader.Run while another Run of the same
	// Reader is in progress: two readers of one session would observe its
	// events twice over.
	ErrRunning = errors.New("relay: reader already running")
)

// ErrorKind classifies an Error; it is the kind label of the
// errors_total metric.
type ErrorKind uint8

const (
	// KindConnect: a request to the upstream failed, or it answered other
	// than 200 with Content-Type text/event-stream. The reader retries.
	KindConnect ErrorKind = iota
	// KindStream: an upstream stream broke, ended (an event stream has no
	// end), or could not be parsed. The reader reconnects.
	KindStream
	// KindEventID: the Tracker refused an event's ID (longer than its
	// MaxEventIDBytes). The event is relayed without deduplication.
	KindEventID
	// KindTracker: a Tracker call failed (Resume, or Observe with
	// shard.ErrTooManySessions or shard.ErrClosed). The reader reconnects
	// from the Tracker's Last-Event-ID later, so no event is lost, or
	// stops on shard.ErrClosed.
	KindTracker
	// KindCatchUp: a client's catch-up stream of the upstream failed to
	// connect, broke, or was rejected.
	KindCatchUp
	// KindClient: a client's stream could not be served as configured: its
	// response cannot flush, or its write deadline cannot be set (then it
	// is served without the slow-client bound).
	KindClient
	numKinds
)

var kindNames = [numKinds]string{"connect", "stream", "event_id", "tracker", "catchup", "client"}

// String returns the kind's metric label: connect, stream, event_id,
// tracker, catchup or client.
func (k ErrorKind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return fmt.Sprintf("ErrorKind(%d)", uint8(k))
}

// Error is a failure a Reader, Follow or Relay reported: to the OnError
// hook, to the Logger (rate-limited per kind) and to the errors_total
// metric. Err is the cause; test it with errors.Is and errors.As.
type Error struct {
	Kind    ErrorKind
	Session string // the Tracker session; "" for Follow
	URL     string // the upstream URL
	Err     error
}

func (e *Error) Error() string {
	if e.Session != "" {
		return fmt.Sprintf("relay: %s: session %q, %s: %v", e.Kind, e.Session, e.URL, e.Err)
	}
	return fmt.Sprintf("relay: %s: %s: %v", e.Kind, e.URL, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }
