# fp_rig.sh - sourced by the fingerprint appliance's host tests: the
# programs, a temporary folder removed on exit, and vapp-fpd daemons on the
# host with libfprint's virtual reader standing in for a fingerprint reader.
#   fp_rig NAME               sets dir, pids; checks the programs
#   fp_start [OPTIONS...]     a daemon serving unix:$dir/fp.sock, state in
#                             $dir/state, its virtual reader's socket
#                             $dir/reader.sock; sets FPD_PID
#   fp_stop                   SIGTERM, waits for it
#   reader CMD                one command to the virtual reader ("SCAN alice",
#                             "RETRY 1", "ERROR 2" ...), one connection each
#   F ARGS...                 vapp-fp against the daemon
#   wait_log PATTERN SECONDS, fail MSG
BUILD=${BUILD:-build}
fpd=$BUILD/bin/vapp-fpd
fpcli=$BUILD/bin/vapp-fp

fp_rig() {
	for b in "$fpd" "$fpcli"; do
		[ -x "$b" ] || { echo "FAIL: build $b first (make)"; exit 1; }
	done
	command -v socat >/dev/null || { echo "socat not installed"; exit 77; }
	dir=$(mktemp -d "/tmp/$1.XXXXXX")
	pids=()
	FPD_PID=
	trap fp_cleanup EXIT
}

fp_cleanup() {
	[ -n "$FPD_PID" ] && kill -9 "$FPD_PID" 2>/dev/null
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	[ -n "${FP_KEEP:-}" ] || rm -rf "$dir"
}

fail() {
	echo "FAIL: $*"
	[ -f "$dir/fpd.log" ] && { echo "--- fpd.log ---"; tail -n 20 "$dir/fpd.log"; }
	exit 1
}

fp_start() {
	rm -f "$dir/fp.sock" "$dir/reader.sock"
	FP_VIRTUAL_DEVICE=$dir/reader.sock "$fpd" -l "unix:$dir/fp.sock" -s "$dir/state" \
		--measurement "$dir/measurement" "$@" >>"$dir/fpd.log" 2>&1 &
	FPD_PID=$!
	for _ in $(seq 100); do [ -S "$dir/fp.sock" ] && break; sleep 0.05; done
	[ -S "$dir/fp.sock" ] || fail "vapp-fpd did not start"
}

fp_stop() {
	kill "$FPD_PID" 2>/dev/null
	wait "$FPD_PID" 2>/dev/null
	FPD_PID=
}

reader() {
	for _ in $(seq 50); do [ -S "$dir/reader.sock" ] && break; sleep 0.05; done
	printf '%s' "$1" | timeout 5 socat -t 1 - "UNIX-CONNECT:$dir/reader.sock" ||
		fail "the virtual reader did not take \"$1\""
}

F() { timeout 60 "$fpcli" -c "unix:$dir/fp.sock" "$@"; }

wait_log() { # PATTERN SECONDS
	for _ in $(seq $(($2 * 10))); do grep -q "$1" "$dir/fpd.log" && return 0; sleep 0.1; done
	return 1
}
