package sse_test

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// refEvent is an event as the reference parser dispatches it.
type refEvent struct {
	ID, Type, Data string
	HasID          bool
}

// refResult is everything the reference parser reports about a stream.
type refResult struct {
	Events    []refEvent
	LastID    string
	LastIDSet bool
	Retry     time.Duration
	RetrySet  bool
}

// refParse is a deliberately plain transcription of the HTML spec's event
// stream interpretation, written for clarity, not speed: decode the whole
// input to text first, then split it into lines, then run the field rules.
// The fuzz target holds Decoder to it.
func refParse(in []byte) refResult {
	if bytes.HasPrefix(in, []byte("\xEF\xBB\xBF")) {
		in = in[3:]
	}
	text := refDecodeUTF8(in)
	var lines []string
	for {
		i := strings.IndexAny(text, "\r\n")
		if i < 0 {
			break // an unterminated last line is never processed
		}
		lines = append(lines, text[:i])
		if strings.HasPrefix(text[i:], "\r\n") {
			text = text[i+2:]
		} else {
			text = text[i+1:]
		}
	}
	var res refResult
	var data, typ, id string
	hasID := false
	for _, line := range lines {
		switch {
		case line == "":
			res.LastID, res.LastIDSet = id, true
			if data == "" {
				typ, hasID = "", false
				continue
			}
			res.Events = append(res.Events, refEvent{ID: id, Type: typ, Data: strings.TrimSuffix(data, "\n"), HasID: hasID})
			data, typ, hasID = "", "", false
			continue
		case strings.HasPrefix(line, ":"):
			continue
		}
		name, value, found := strings.Cut(line, ":")
		if found {
			value = strings.TrimPrefix(value, " ")
		}
		switch name {
		case "event":
			typ = value
		case "data":
			data += value + "\n"
		case "id":
			if !strings.Contains(value, "\x00") {
				id, hasID = value, true
			}
		case "retry":
			if value != "" && strings.Trim(value, "0123456789") == "" {
				res.Retry, res.RetrySet = refMillis(value), true
			}
		}
	}
	return res
}

// refMillis converts a string of digits to a Duration of that many
// milliseconds, saturating at the largest Duration.
func refMillis(digits string) time.Duration {
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || n > math.MaxInt64/uint64(time.Millisecond) {
		return math.MaxInt64
	}
	return time.Duration(n) * time.Millisecond
}

// refDecodeUTF8 decodes in as the WHATWG UTF-8 decoder does: each maximal
// subpart of an ill-formed sequence becomes one U+FFFD. The maximal subpart
// is found by brute force: the longest prefix (of up to 3 bytes) that some
// choice of continuation bytes completes into valid UTF-8.
func refDecodeUTF8(in []byte) string {
	var out strings.Builder
	for i := 0; i < len(in); {
		r, size := utf8.DecodeRune(in[i:])
		if r != utf8.RuneError || size > 1 {
			out.WriteRune(r)
			i += size
			continue
		}
		k := 1
		for n := min(3, len(in)-i); n > 1; n-- {
			if completable(in[i : i+n]) {
				k = n
				break
			}
		}
		out.WriteRune(utf8.RuneError)
		i += k
	}
	return out.String()
}

// completable reports whether prefix is a proper prefix of a valid UTF-8
// encoding of one rune.
func completable(prefix []byte) bool {
	for total := len(prefix) + 1; total <= 4; total++ {
		for b := 0x80; b <= 0xBF; b++ {
			cand := append([]byte(nil), prefix...)
			cand = append(cand, byte(b))
			for len(cand) < total {
				cand = append(cand, 0x80)
			}
			if r, size := utf8.DecodeRune(cand); size == len(cand) && r != utf8.RuneError {
				return true
			}
		}
	}
	return false
}
