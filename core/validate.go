package core

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"
	"unsafe"
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
	if err := CheckEventIDLength(id, maxBytes); err != nil {
		return err
	}
	return CheckEventIDBytes(id)
}

// CheckEventIDLength is the constant-time half of ValidateEventID: it rejects
// an empty ID or one longer than maxBytes.
func CheckEventIDLength(id string, maxBytes int) error {
	switch {
	case id == "":
		return ErrEmptyEventID
	case len(id) > maxBytes:
		return fmt.Errorf("%w: %d bytes, limit %d", ErrEventIDTooLong, len(id), maxBytes)
	}
	return nil
}

// CheckEventIDBytes is the scanning half of ValidateEventID: it rejects an
// ID with NUL, CR or LF or invalid UTF-8. The tracker runs it only for IDs
// that are not duplicates: an ID equal to one already accepted was already
// checked.
func CheckEventIDBytes(id string) error {
	if i := firstInvalid(id, true); i >= 0 {
		return fmt.Errorf("%w: bad byte at offset %d", ErrInvalidEventID, i)
	}
	return nil
}

// Byte-lane masks for checking eight bytes at once (SWAR): lows has 0x01 in
// every byte, highs 0x80.
const (
	lows  = 0x0101010101010101
	highs = 0x8080808080808080
)

// firstInvalid returns the offset of the first byte that makes s unusable,
// or -1. Eight bytes at a time it rules out non-ASCII, NUL and (with
// forbidNewline) CR and LF in a few arithmetic steps: the common event ID is
// short ASCII, and this runs on every Observe. Any word that might hold a
// bad byte, and the tail, go through the exact byte loop, which hands
// non-ASCII text to the UTF-8 check.
func firstInvalid(s string, forbidNewline bool) int {
	if len(s) < 8 {
		return firstInvalidUTF8(s, 0, forbidNewline)
	}
	b := unsafe.Slice(unsafe.StringData(s), len(s)) // read-only view, no copy
	for i := 0; ; i += 8 {
		if i > len(b)-8 {
			i = len(b) - 8 // the last word overlaps the one before: no byte loop for the tail
		}
		v := binary.LittleEndian.Uint64(b[i:]) // one unaligned load
		bad := v | hasZeroByte(v)
		if forbidNewline {
			bad |= hasZeroByte(v^('\r'*lows)) | hasZeroByte(v^('\n'*lows))
		}
		if bad&highs != 0 {
			return firstInvalidUTF8(s, i, forbidNewline)
		}
		if i == len(b)-8 {
			return -1
		}
	}
}

// hasZeroByte sets the high bit of (at least) the lowest zero byte of v and
// of no byte below it; it is exact about whether any byte is zero.
func hasZeroByte(v uint64) uint64 { return (v - lows) &^ v & highs }

// firstInvalidUTF8 checks s from offset from byte by byte, decoding
// non-ASCII runes.
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
