package core

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"unsafe"

	"github.com/cespare/xxhash/v2"
)

// DefaultPersistWindow is the default number of recent IDs a checkpoint
// carries (Checkpoint.Window). An SSE upstream that honours Last-Event-ID
// resends at most a few events from before it; 32 covers that overlap with
// room to spare at 256 bytes per stored checkpoint.
const DefaultPersistWindow = 32

// ErrInvalidWindow: a window is malformed or does not belong to its
// checkpoint. Only a foreign or corrupted value produces it: a backend
// refuses to store such a checkpoint, and returns this error, wrapped with
// the session, instead of loading one.
var ErrInvalidWindow = errors.New("lastevent: invalid window")

// hashBytes is the size of one hash in a Window's encoding.
const hashBytes = 8

// Window is the tail of a session's dedup window as a checkpoint persists
// it: the xxhash64 values of the session's last K accepted event IDs, oldest
// first, the last one being the hash of Checkpoint.EventID. A session
// resumed from the checkpoint treats a replay of any of those IDs as a
// duplicate, so its Last-Event-ID never moves back in the stream.
//
// The encoding is compact and fixed: 8 bytes per hash, little-endian, no
// header, so K hashes take exactly 8·K bytes. Window is a string so that it
// is immutable and a Checkpoint stays a comparable plain value; a backend
// stores its bytes as they are ([]byte(w) or the string itself) and turns
// stored bytes back into a Window with ParseWindow. The zero value is the
// empty window: the checkpoint carries no recent IDs (a writer with
// persistence of the window turned off, or a checkpoint stored before it
// existed).
type Window string

// EncodeWindow returns the Window of hashes, oldest first. It allocates
// 8·len(hashes) bytes once and does not retain hashes.
func EncodeWindow(hashes []uint64) Window {
	if len(hashes) == 0 {
		return ""
	}
	b := make([]byte, 0, hashBytes*len(hashes))
	for _, h := range hashes {
		b = binary.LittleEndian.AppendUint64(b, h)
	}
	return windowOfBytes(b)
}

// windowOfBytes turns encoded bytes that nothing writes again into a Window
// without copying them (the strings.Builder idiom): one allocation per
// encoded window, not two.
func windowOfBytes(b []byte) Window {
	return Window(unsafe.String(unsafe.SliceData(b), len(b)))
}

// ParseWindow checks an encoded window read from a store and returns it as
// a Window (a copy: b is not retained). It returns an error wrapping
// ErrInvalidWindow, and never panics, when b is not a whole number of
// hashes, holds more than MaxWindow of them, or holds a hash twice (a
// window's IDs are distinct). Whether the window belongs to its checkpoint
// is Checkpoint.CheckWindow's concern.
func ParseWindow(b []byte) (Window, error) {
	w := Window(b)
	if err := w.check(); err != nil {
		return "", err
	}
	return w, nil
}

// Len returns the number of hashes in w, or -1 if w is not a whole number
// of hashes.
func (w Window) Len() int {
	if len(w)%hashBytes != 0 {
		return -1
	}
	return len(w) / hashBytes
}

// Hash returns the i-th hash, oldest first. It panics if i is out of range,
// like an index expression.
func (w Window) Hash(i int) uint64 {
	b := w[i*hashBytes : (i+1)*hashBytes]
	// Byte by byte from the string: the compiler merges these into one
	// load, where []byte(b) could copy.
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// AppendHashes appends w's hashes to dst, oldest first, and returns the
// extended slice. w must be well-formed (see ParseWindow).
func (w Window) AppendHashes(dst []uint64) []uint64 {
	for i := range w.Len() {
		dst = append(dst, w.Hash(i))
	}
	return dst
}

// String returns the hashes in hex, oldest first, for logs and test
// failures: "[a1b2c3d4e5f60718 ...]". A malformed w shows its byte count.
func (w Window) String() string {
	n := w.Len()
	if n < 0 {
		return fmt.Sprintf("[malformed window of %d bytes]", len(w))
	}
	b := make([]byte, 0, 2+17*n)
	b = append(b, '[')
	for i := range n {
		if i > 0 {
			b = append(b, ' ')
		}
		b = fmt.Appendf(b, "%016x", w.Hash(i))
	}
	return string(append(b, ']'))
}

// check reports whether w is well-formed: a whole number of distinct hashes,
// at most MaxWindow.
func (w Window) check() error {
	n := w.Len()
	switch {
	case n < 0:
		return fmt.Errorf("%w: %d bytes is not a multiple of %d", ErrInvalidWindow, len(w), hashBytes)
	case n > MaxWindow:
		return fmt.Errorf("%w: %d hashes, limit %d", ErrInvalidWindow, n, MaxWindow)
	case n < 2:
		return nil
	}
	// A default window sorts on the stack: backends check every
	// checkpoint they store or load.
	var buf [2 * DefaultPersistWindow]uint64
	hs := w.AppendHashes(buf[:0])
	slices.Sort(hs)
	for i := 1; i < len(hs); i++ {
		if hs[i] == hs[i-1] {
			return fmt.Errorf("%w: hash %#016x appears twice", ErrInvalidWindow, hs[i])
		}
	}
	return nil
}

// CheckWindow reports whether c's Window can belong to c: well-formed (see
// ParseWindow), no longer than Seq (a session cannot have more recent IDs
// than accepted events), and ending with the hash of EventID. An empty
// Window always can. The error wraps ErrInvalidWindow and names the session.
// Backends call it on every checkpoint they load, and the tracker checks
// every loaded checkpoint again before it seeds a session's window.
func (c Checkpoint) CheckWindow() error {
	if c.Window == "" {
		return nil
	}
	if err := c.Window.check(); err != nil {
		return fmt.Errorf("session %q: %w", c.Session, err)
	}
	n := c.Window.Len()
	if uint64(n) > c.Seq {
		return fmt.Errorf("session %q: %w: %d hashes for seq %d", c.Session, ErrInvalidWindow, n, c.Seq)
	}
	if newest, want := c.Window.Hash(n-1), xxhash.Sum64String(c.EventID); newest != want {
		return fmt.Errorf("session %q: %w: newest hash %#016x is not that of event ID %q (%#016x)",
			c.Session, ErrInvalidWindow, newest, c.EventID, want)
	}
	return nil
}
