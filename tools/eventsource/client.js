#!/usr/bin/env node
// client.js URL [COUNT]: connect to an SSE URL with the npm eventsource
// package (pinned in package.json), print each message event as one JSON line
// {"id": lastEventId, "data": data} on stdout, and exit 0 after COUNT events
// (default: never). eventsource reconnects by itself after a dropped
// connection, sending Last-Event-ID, at the interval the server's retry field
// sets; each error event is reported on stderr. examples/sserelay's end-to-end
// tests run it as the SSE client not written in this repository.
"use strict";

const { EventSource } = require("eventsource");

const [url, countArg] = process.argv.slice(2);
if (!url) {
	console.error("usage: client.js URL [COUNT]");
	process.exit(2);
}
const count = countArg === undefined ? Infinity : Number(countArg);
if (!(count > 0)) {
	console.error(`client.js: COUNT must be a positive number, got ${countArg}`);
	process.exit(2);
}

let seen = 0;
const es = new EventSource(url);
es.onopen = () => console.error("client.js: connected");
es.onerror = (err) => console.error(`client.js: error: ${err.message ?? "connection lost"} (reconnecting: ${es.readyState === es.CONNECTING})`);
es.onmessage = (ev) => {
	process.stdout.write(JSON.stringify({ id: ev.lastEventId, data: ev.data }) + "\n");
	seen++;
	if (seen >= count) {
		es.close();
		// Exit once stdout has drained, so the last line is not lost.
		process.stdout.write("", () => process.exit(0));
	}
};
for (const sig of ["SIGINT", "SIGTERM"]) {
	process.on(sig, () => {
		es.close();
		process.exit(0);
	});
}
