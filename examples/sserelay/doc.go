// Package sserelay is a runnable example: an SSE relay built on the
// lastevent Tracker and the relay package, with a flaky test upstream and a
// client. Its commands are upstream/, relay/ (a thin main over
// relay.New) and client/; README.md explains how to run them and how the
// relay combines its stored checkpoint with a client's Last-Event-ID. This
// package holds only the end-to-end tests, which build the three commands
// and run them as processes on 127.0.0.1, with the npm eventsource client,
// DynamoDB (dynalite) and a real browser (Debian's chromium).
package sserelay
