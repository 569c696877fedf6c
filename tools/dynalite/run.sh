#!/usr/bin/env bash
# run.sh CMD [ARGS...]: run CMD with a fresh, empty dynalite (the DynamoDB API
# on an in-memory LevelDB) listening on a free port of 127.0.0.1, and
# LASTEVENT_DYNAMODB_ENDPOINT pointing at it. dynalite is stopped when CMD
# ends, also when CMD fails or the script is interrupted; the script exits
# with CMD's status.
#
# dynalite is installed from package-lock.json with `npm ci` when
# node_modules is missing, so the version is the pinned one (4.0.0).
# Tables are created, updated and deleted at once (--*TableMs 0), so tests do
# not wait for CREATING to turn ACTIVE.
set -euo pipefail

if [ "$#" -eq 0 ]; then
	echo "usage: $0 COMMAND [ARGS...]" >&2
	exit 2
fi

dir="$(cd "$(dirname "$0")" && pwd)"
if [ ! -x "$dir/node_modules/.bin/dynalite" ]; then
	echo "run.sh: installing dynalite with npm ci" >&2
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi

log="$(mktemp -t dynalite.XXXXXX.log)"
pid=""
stop() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -f "$log"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# freeport prints a port the kernel considers free on 127.0.0.1. Another
# process may take it before dynalite binds it; the loop below then retries.
freeport() {
	node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# shellcheck source=../serverlib.sh
. "$(dirname "$0")/../serverlib.sh"

port=""
for attempt in 1 2 3; do
	p="$(freeport)"
	"$dir/node_modules/.bin/dynalite" --host 127.0.0.1 --port "$p" \
		--createTableMs 0 --deleteTableMs 0 --updateTableMs 0 >"$log" 2>&1 &
	pid=$!
	if await "$pid" "$p"; then
		port="$p"
		break
	fi
	echo "run.sh: dynalite did not start on port $p (attempt $attempt):" >&2
	cat "$log" >&2
	stop
	pid=""
	log="$(mktemp -t dynalite.XXXXXX.log)"
done
if [ -z "$port" ]; then
	echo "run.sh: giving up: dynalite did not start" >&2
	exit 1
fi

export LASTEVENT_DYNAMODB_ENDPOINT="http://127.0.0.1:$port"
echo "run.sh: dynalite $(node -p 'require(process.argv[1]).version' "$dir/node_modules/dynalite/package.json") at $LASTEVENT_DYNAMODB_ENDPOINT (pid $pid)" >&2

status=0
"$@" || status=$?
exit "$status"
