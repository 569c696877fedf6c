# Shared by tools/*/run.sh, which source it: waiting for a test server that
# was just started in the background.

# answers PORT reports whether something accepts TCP connections on
# 127.0.0.1:PORT.
answers() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# await PID PORT waits up to 10 s for the process PID to accept connections
# on PORT. It fails at once if the process exits (another process may have
# taken the port first), and when time runs out.
await() {
	for _ in $(seq 1 100); do
		if ! kill -0 "$1" 2>/dev/null; then
			return 1
		fi
		if answers "$2"; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}
