#!/usr/bin/env node
// eventsource_page.js ALLOWED_PAGE DENIED_PAGE RELAY_URL: drive Debian's
// /usr/bin/chromium (never a downloaded browser) with puppeteer-core, pinned
// in package-lock.json, through a page whose EventSource reads an SSE relay
// on another origin. examples/sserelay's browser test runs it and checks
// what it prints: one JSON line per phase on stdout.
//
//   loaded       the allowed page got its first events (whole stream: it had
//                no saved ID)
//   reloaded     after a page reload the page resumed with
//                ?lastEventId=<saved>; it prints where its log stood at load
//                and the events since
//   restart      the page waits: the test restarts the relay and sends
//                SIGUSR1; the browser's EventSource reconnects by itself,
//                sending Last-Event-ID (a cross-origin header: a preflight)
//   reconnected  events arrived after the restart
//   denied       a page of an origin the relay does not allow: its
//                EventSource is refused and gives up (readyState CLOSED)
//
// Each page keeps, in its origin's localStorage, the data of every event it
// received across loads ("log") and the last event ID ("lastEventId").
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");
const puppeteer = require("puppeteer-core");

const [allowedPage, deniedPage, relayURL] = process.argv.slice(2);
if (!relayURL) {
	console.error("usage: eventsource_page.js ALLOWED_PAGE DENIED_PAGE RELAY_URL");
	process.exit(2);
}
const timeout = 30000;
const print = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const state = (page) => page.evaluate(() => ({ ...window.state, log: JSON.parse(localStorage.getItem("log") || "[]") }));
const resumed = new Promise((resolve) => process.once("SIGUSR1", resolve));

async function main() {
	const profile = fs.mkdtempSync(path.join(os.tmpdir(), "lastevent-chromium-"));
	const browser = await puppeteer.launch({
		executablePath: "/usr/bin/chromium",
		headless: false, // --headless below: the flags are exactly these
		args: [
			"--headless",
			"--no-sandbox",
			"--disable-gpu",
			"--disable-quic",
			"--no-first-run",
			"--disable-background-networking",
			"--disable-component-update",
			"--disable-sync",
			`--user-data-dir=${profile}`,
		],
	});
	try {
		const page = await browser.newPage();
		const consoleLines = [];
		page.on("console", (m) => consoleLines.push(m.text()));
		const src = `${allowedPage}?relay=${encodeURIComponent(relayURL)}`;

		await page.goto(src);
		await page.waitForFunction("window.state.count >= 10", { timeout });
		print({ phase: "loaded", ...(await state(page)) });

		await page.reload();
		await page.waitForFunction("window.state.count >= 10", { timeout });
		print({ phase: "reloaded", ...(await state(page)) });

		const before = (await state(page)).count;
		print({ phase: "restart", count: before });
		await resumed;
		await page.waitForFunction(`window.state.count >= ${before + 10}`, { timeout });
		print({ phase: "reconnected", ...(await state(page)), console: consoleLines });

		const denied = await browser.newPage();
		const deniedConsole = [];
		denied.on("console", (m) => deniedConsole.push(m.text()));
		await denied.goto(`${deniedPage}?relay=${encodeURIComponent(relayURL)}`);
		await denied.waitForFunction("window.state.readyState === 2", { timeout });
		print({ phase: "denied", ...(await state(denied)), console: deniedConsole });
	} finally {
		await browser.close();
		fs.rmSync(profile, { recursive: true, force: true });
	}
}

main().then(
	() => process.exit(0),
	(err) => {
		console.error(`eventsource_page.js: ${err.stack || err}`);
		process.exit(1);
	},
);
