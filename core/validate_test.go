package core_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/lastevent/lastevent/core"
)

var inputErrors = []error{
	core.ErrEmptySession, core.ErrSessionTooLong, core.ErrInvalidSession,
	core.ErrEmptyEventID, core.ErrEventIDTooLong, core.ErrInvalidEventID,
}

type validateCase struct {
	name string
	in   string
	want error // nil: valid
	// offset is the bad byte's offset the error must report, -1 if not checked.
	offset int
}

// checkValidate asserts err matches want via errors.Is and matches no other
// input sentinel, and that an invalid-byte error names the offset.
func checkValidate(t *testing.T, fn string, tc validateCase, err error) {
	t.Helper()
	if tc.want == nil {
		if err != nil {
			t.Fatalf("%s(%q): got %v, want nil", fn, tc.in, err)
		}
		return
	}
	if !errors.Is(err, tc.want) {
		t.Fatalf("%s(%q): got %v, want an error wrapping %v", fn, tc.in, err, tc.want)
	}
	for _, other := range inputErrors {
		if other != tc.want && errors.Is(err, other) {
			t.Fatalf("%s(%q): got %v, which also matches %v", fn, tc.in, err, other)
		}
	}
	if tc.offset >= 0 {
		if want := fmt.Sprintf("offset %d", tc.offset); !strings.HasSuffix(err.Error(), want) {
			t.Fatalf("%s(%q): got %q, want it to end with %q", fn, tc.in, err, want)
		}
	}
}

// positions returns cases with b at the start, middle and end of an ID.
func positions(b string, want error, asciiOnly bool) []validateCase {
	prefix := "é" // the byte after a multi-byte rune takes the UTF-8 path
	if asciiOnly {
		prefix = "ab"
	}
	return []validateCase{
		{fmt.Sprintf("%q start", b), b + "abc", want, 0},
		{fmt.Sprintf("%q middle", b), prefix + b + "cd", want, len(prefix)},
		{fmt.Sprintf("%q end", b), "abcd" + b, want, 4},
	}
}

// invalidUTF8 lists byte sequences that are not valid UTF-8, each placed
// after "ab" so the reported offset is 2.
var invalidUTF8 = []struct{ name, in string }{
	{"lone 0xff", "ab\xff"},
	{"lone continuation", "ab\x80cd"},
	{"truncated 2-byte", "ab\xc3"},
	{"truncated 3-byte", "ab\xe4\xb8"},
	{"truncated 3-byte mid", "ab\xe4\xb8x"},
	{"truncated 4-byte", "ab\xf0\x9f\x99"},
	{"overlong NUL", "ab\xc0\x80"},
	{"overlong slash", "ab\xe0\x80\xaf"},
	{"surrogate", "ab\xed\xa0\x80"},
	{"beyond U+10FFFF", "ab\xf4\x90\x80\x80"},
}

var validMultiByte = []struct{ name, in string }{
	{"emoji", "🙂"},
	{"emoji sequence", "evt-👩‍💻-42"},
	{"CJK", "会话-事件"},
	{"latin", "ünïcødé"},
	{"replacement char", "\uFFFD"},
	{"max rune", "\U0010FFFF"},
}

func TestValidateSession(t *testing.T) {
	cases := []validateCase{
		{"empty", "", core.ErrEmptySession, -1},
		{"one byte", "s", nil, -1},
		{"at limit", strings.Repeat("s", core.MaxSessionBytes), nil, -1},
		{"limit+1", strings.Repeat("s", core.MaxSessionBytes+1), core.ErrSessionTooLong, -1},
		{"multi-byte at limit", strings.Repeat("é", core.MaxSessionBytes/2), nil, -1},
		{"multi-byte limit+1", strings.Repeat("é", core.MaxSessionBytes/2) + "s", core.ErrSessionTooLong, -1},
		{"far too long", strings.Repeat("s", 1<<16), core.ErrSessionTooLong, -1},
	}
	cases = append(cases, positions("\x00", core.ErrInvalidSession, true)...)
	cases = append(cases, positions("\x00", core.ErrInvalidSession, false)...)
	// A session name never travels in an SSE id field: CR and LF are allowed.
	cases = append(cases, positions("\r", nil, true)...)
	cases = append(cases, positions("\n", nil, false)...)
	for _, c := range invalidUTF8 {
		cases = append(cases, validateCase{c.name, c.in, core.ErrInvalidSession, 2})
	}
	for _, c := range validMultiByte {
		cases = append(cases, validateCase{c.name, c.in, nil, -1})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkValidate(t, "ValidateSession", tc, core.ValidateSession(tc.in))
		})
	}
}

func TestValidateEventID(t *testing.T) {
	const limit = core.DefaultMaxEventIDBytes
	cases := []validateCase{
		{"empty", "", core.ErrEmptyEventID, -1},
		{"one byte", "1", nil, -1},
		{"at limit", strings.Repeat("e", limit), nil, -1},
		{"limit+1", strings.Repeat("e", limit+1), core.ErrEventIDTooLong, -1},
		{"multi-byte at limit", strings.Repeat("€", limit/4) + strings.Repeat("e", limit-3*(limit/4)), nil, -1},
		{"multi-byte limit+1", strings.Repeat("€", limit/3) + strings.Repeat("e", limit-3*(limit/3)+1), core.ErrEventIDTooLong, -1},
	}
	for _, b := range []string{"\x00", "\r", "\n"} {
		cases = append(cases, positions(b, core.ErrInvalidEventID, true)...)
		cases = append(cases, positions(b, core.ErrInvalidEventID, false)...)
	}
	cases = append(cases, validateCase{"CRLF", "a\r\n", core.ErrInvalidEventID, 1})
	for _, c := range invalidUTF8 {
		cases = append(cases, validateCase{c.name, c.in, core.ErrInvalidEventID, 2})
	}
	for _, c := range validMultiByte {
		cases = append(cases, validateCase{c.name, c.in, nil, -1})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkValidate(t, "ValidateEventID", tc, core.ValidateEventID(tc.in, limit))
		})
	}
}

// TestValidateEventIDLimit: the limit is the caller's, counted in bytes.
func TestValidateEventIDLimit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want error
	}{
		{"12345678", 8, nil},
		{"123456789", 8, core.ErrEventIDTooLong},
		{"éééé", 8, nil},
		{"éééé1", 8, core.ErrEventIDTooLong},
		{"🙂", 4, nil},
		{"🙂", 3, core.ErrEventIDTooLong},
		{"a", 1, nil},
		{"ab", 1, core.ErrEventIDTooLong},
	} {
		err := core.ValidateEventID(tc.in, tc.max)
		if !errors.Is(err, tc.want) { // errors.Is(err, nil) is err == nil
			t.Errorf("ValidateEventID(%q, %d): got %v, want %v", tc.in, tc.max, err, tc.want)
		}
		if tc.want != nil && !strings.Contains(err.Error(), fmt.Sprintf("%d bytes, limit %d", len(tc.in), tc.max)) {
			t.Errorf("ValidateEventID(%q, %d): got %q, want it to name the length %d and limit %d",
				tc.in, tc.max, err, len(tc.in), tc.max)
		}
	}
}

func TestValidateNoAllocs(t *testing.T) {
	inputs := []string{
		"s", "session-42", "evt-00000000000000000042",
		strings.Repeat("a", core.MaxSessionBytes),
		"🙂", "会话-事件", "ünïcødé", "evt-👩‍💻-42",
	}
	for _, in := range inputs {
		if got := testing.AllocsPerRun(100, func() {
			if core.ValidateSession(in) != nil {
				panic("invalid")
			}
		}); got != 0 {
			t.Errorf("ValidateSession(%q) allocs: got %v, want 0", in, got)
		}
		if got := testing.AllocsPerRun(100, func() {
			if core.ValidateEventID(in, core.DefaultMaxEventIDBytes) != nil {
				panic("invalid")
			}
		}); got != 0 {
			t.Errorf("ValidateEventID(%q) allocs: got %v, want 0", in, got)
		}
	}
}
