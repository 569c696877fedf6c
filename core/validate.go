package core

import (
	"fmt"
	"unicode/utf8"
)

const (
	// MaxSessionBytes is the longest session name accepted, in bytes. It
	// leaves room under DynamoDB's 2048-byte partition-key limit and keeps a
	// session's fixed cost predictable.
	MaxSessionBytes = 1024

	// DefaultMaxEventIDBytes is the default longest event ID, in bytes.
	DefaultMaxEventIDBytes = 1024
)

// ValidateSession returns nil when session can name a session: non-empty, at
// most MaxSessionBytes, valid UTF-8 and free of NUL. Otherwise it returns an
// error wrapping ErrEmptySession, ErrSessionTooLong or ErrInvalidSession.
// It does not allocate on success.
func ValidateSession(session string) error {
	switch {
	case session == "":
		return ErrEmptySession
	case len(session) > MaxSessionBytes:
		return fmt.Errorf("%w: %d bytes, limit %d", ErrSessionTooLong, len(session), MaxSessionBytes)
	}
	if i := firstInvalid(session, false); i >= 0 {
		return fmt.Errorf("%w: bad byte at offset %d", ErrInvalidSession, i)
	}
	return nil
}

// ValidateEventID returns nil when id can be tracked: non-empty, at most
// maxBytes long, valid UTF-8 and free of NUL, CR and LF, the bytes an SSE id
// field cannot carry. Otherwise it returns an error wrapping ErrEmptyEventID,
// ErrEventIDTooLong or ErrInvalidEventID. It does not allocate on success.
func ValidateEventID(id string, maxBytes int) error {
	switch {
	case id == "":
		return ErrEmptyEventID
	case len(id) > maxBytes:
		return fmt.Errorf("%w: %d bytes, limit %d", ErrEventIDTooLong, len(id), maxBytes)
	}
	if i := firstInvalid(id, true); i >= 0 {
		return fmt.Errorf("%w: bad byte at offset %d", ErrInvalidEventID, i)
	}
	return nil
}

// firstInvalid returns the offset of the first byte that makes s unusable,
// or -1. ASCII is checked byte by byte (the common case for event IDs); the
// first non-ASCII byte hands the rest to utf8.ValidString's fast path.
func firstInvalid(s string, forbidNewline bool) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return firstInvalidUTF8(s, i, forbidNewline)
		}
		if c == 0 || (forbidNewline && (c == '\r' || c == '\n')) {
			return i
		}
	}
	return -1
}

func firstInvalidUTF8(s string, from int, forbidNewline bool) int {
	for i := from; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c == 0 || (forbidNewline && (c == '\r' || c == '\n')) {
				return i
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}
