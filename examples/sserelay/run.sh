#!/usr/bin/env bash
# run.sh BINDIR: run the SSE relay example on 127.0.0.1 with the commands
# built into BINDIR (`make example` builds them and calls this): a flaky
# upstream (drops connections, resends overlaps), the relay on the memory
# backend, and a client printing each event as a JSON line. Ctrl-C stops all
# three. Addresses and extra relay flags come from UPSTREAM_ADDR (default
# 127.0.0.1:8081), RELAY_ADDR (127.0.0.1:8082) and RELAY_FLAGS, e.g.
# RELAY_FLAGS='-backend dynamodb -endpoint http://127.0.0.1:8000 -create-table'.
set -euo pipefail

bin="${1:?usage: $0 BINDIR}"
up_addr="${UPSTREAM_ADDR:-127.0.0.1:8081}"
relay_addr="${RELAY_ADDR:-127.0.0.1:8082}"

pids=()
stop() {
	trap - EXIT INT TERM
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	echo "example: stopped upstream, relay and client" >&2
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# answers reports whether something accepts TCP connections on host:port.
answers() {
	(exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null
}
await() {
	for _ in $(seq 1 100); do # up to 10 s
		if answers "$1"; then return 0; fi
		sleep 0.1
	done
	echo "example: nothing answers on $1" >&2
	exit 1
}

"$bin/upstream" -listen "$up_addr" -interval 300ms -drop 0.05 -overlap 3 -retry 500ms &
pids+=($!)
await "$up_addr"
# shellcheck disable=SC2086 # RELAY_FLAGS is a list of flags
"$bin/relay" -upstream "http://$up_addr/events" -listen "$relay_addr" -max-overlap 3 \
	-heartbeat 5s ${RELAY_FLAGS:-} &
pids+=($!)
await "$relay_addr"
"$bin/client" -url "http://$relay_addr/events" &
pids+=($!)
echo "example: upstream http://$up_addr/events -> relay http://$relay_addr/events -> client; Ctrl-C stops them" >&2
wait
