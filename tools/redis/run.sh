#!/usr/bin/env bash
# run.sh CMD [ARGS...]: run CMD with a fresh, empty redis-server listening on
# a free port of 127.0.0.1, with LASTEVENT_REDIS_ADDR set to its host:port
# and LASTEVENT_REDIS_SERVER to the redis-server binary (tests that kill or
# reconfigure a server start their own instance with it, so they never
# disturb this shared one). The server is stopped when CMD ends, also when
# CMD fails or the script is interrupted; the script exits with CMD's status.
#
# The server keeps nothing: its working directory is a temporary one removed
# afterwards, RDB snapshots and AOF are off. When redis-server is not on PATH
# (or in $LASTEVENT_REDIS_SERVER), the Debian package is installed with
# apt-get (through sudo when not root); nothing is started as a system
# service by this script.
set -euo pipefail

if [ "$#" -eq 0 ]; then
	echo "usage: $0 COMMAND [ARGS...]" >&2
	exit 2
fi

server="${LASTEVENT_REDIS_SERVER:-}"
if [ -z "$server" ]; then
	server="$(command -v redis-server || true)"
fi
if [ -z "$server" ]; then
	echo "run.sh: redis-server not found: installing the Debian package redis-server" >&2
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		sudo="sudo"
	fi
	$sudo apt-get update -qq >&2
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >&2
	server="$(command -v redis-server || true)"
	if [ -z "$server" ]; then
		echo "run.sh: redis-server still not found after apt-get install" >&2
		exit 1
	fi
fi

dir="$(mktemp -d -t lastevent-redis.XXXXXX)"
pid=""
stop() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$dir"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# shellcheck source=../serverlib.sh
. "$(dirname "$0")/../serverlib.sh"

# A random port of the range Linux does not hand out as ephemeral ports by
# default (32768-60999 is), skipping ones already taken. Another process may
# take it before redis-server binds it: redis-server then exits and the loop
# tries another port.
port=""
for attempt in 1 2 3 4 5; do
	p=$((20000 + RANDOM % 12000))
	if answers "$p"; then
		continue
	fi
	"$server" --bind 127.0.0.1 --port "$p" --dir "$dir" --save '' --appendonly no \
		--daemonize no --logfile "$dir/redis.log" &
	pid=$!
	if await "$pid" "$p"; then
		port="$p"
		break
	fi
	echo "run.sh: redis-server did not start on port $p (attempt $attempt):" >&2
	cat "$dir/redis.log" >&2 || true
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	pid=""
done
if [ -z "$port" ]; then
	echo "run.sh: giving up: redis-server did not start" >&2
	exit 1
fi

export LASTEVENT_REDIS_ADDR="127.0.0.1:$port"
export LASTEVENT_REDIS_SERVER="$server"
echo "run.sh: $("$server" --version | cut -d' ' -f1-3) at $LASTEVENT_REDIS_ADDR (pid $pid)" >&2

status=0
"$@" || status=$?
exit "$status"
