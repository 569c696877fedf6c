package shard

import "errors"

var (
	// ErrClosed is returned by every Tracker method called after Close began.
	ErrClosed = errors.New("lastevent: tracker closed")
	// ErrUnflushed is returned by Flush and Close when their context ended
	// before every accepted checkpoint was stored; the error says how many
	// sessions are still waiting and the backend's last error.
	ErrUnflushed = errors.New("lastevent: checkpoints not yet stored")
)
