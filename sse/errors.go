package sse

import "errors"

var (
	// ErrLineTooLong is returned by Decoder.Next when a line, or the data
	// of one event, exceeds the decoder's limit (see Decoder.Buffer).
	ErrLineTooLong = errors.New("sse: line or event too long")
	// ErrInvalidID is returned by Writer.WriteEvent for an ID containing
	// CR, LF or NUL: CR and LF would end the field early and a parser
	// ignores an id with NUL.
	ErrInvalidID = errors.New("sse: invalid event ID")
	// ErrInvalidType is returned by Writer.WriteEvent for an event type
	// containing CR or LF.
	ErrInvalidType = errors.New("sse: invalid event type")
	// ErrInvalidRetry is returned by Writer.WriteRetry for a negative
	// duration.
	ErrInvalidRetry = errors.New("sse: invalid retry")
	// ErrFlushNotSupported is returned by Upgrade when the ResponseWriter
	// cannot flush, so events would sit in a buffer.
	ErrFlushNotSupported = errors.New("sse: response writer cannot flush")
)
