# voip_rig.sh - sourced by the VoIP appliance's host tests: the programs,
# a temporary folder cleaned up on exit (daemons, their SIP stacks, SIPp),
# and vapp-voipd daemons started on ports of their own.
#   voip_rig NAME            sets dir, pids; checks the programs (exit 77
#                            without baresip)
#   voip_start NAME SIP_PORT CTL_PORT TONE_HZ [ADDR]
#                            a daemon serving unix:$dir/NAME.sock (and ADDR,
#                            as tcp:127.0.0.1:PORT, when given), its SIP
#                            stack sending a sine of TONE_HZ, every call's
#                            decoded audio kept in $dir/NAME.rec
#   wait_for FILE PATTERN SECONDS, field KEY (from stdin)
BUILD=${BUILD:-build}
daemon=$BUILD/bin/vapp-voipd
cli=$BUILD/bin/vapp-voip
tone=$BUILD/tests/progs/tone

voip_rig() {
	for b in "$daemon" "$cli" "$tone"; do
		[ -x "$b" ] || { echo "FAIL: build $b first (make)"; exit 1; }
	done
	[ -x /usr/bin/baresip ] || { echo "baresip not installed (baresip-core)"; exit 77; }
	dir=$(mktemp -d "/tmp/$1.XXXXXX")
	pids=()
	trap voip_cleanup EXIT
}

voip_cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	pkill -KILL -f "baresip -f $dir/" 2>/dev/null
	[ -n "${VOIP_KEEP:-}" ] || rm -rf "$dir"
}

fail() {
	echo "FAIL: $*"
	for f in "$dir"/*.log "$dir"/*.sipp; do
		[ -f "$f" ] && { echo "--- $(basename "$f") ---"; tail -n 12 "$f"; }
	done
	exit 1
}

voip_start() {
	mkdir -p "$dir/$1.state" "$dir/$1.rec"
	"$daemon" --listen "unix:$dir/$1.sock" ${5:+--listen "$5"} --state "$dir/$1.state" --run-dir "$dir/$1.run" \
		--sip "127.0.0.1:$2" --control-port "$3" --audio-source "ausine,$4" \
		--audio-player "aufile,$dir/$1.wav" --record "$dir/$1.rec" >"$dir/$1.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 50); do
		"$cli" -c "unix:$dir/$1.sock" status 2>/dev/null | grep -q '"sipStackRunning":true' &&
			return 0
		sleep 0.1
	done
	fail "$1's SIP stack is not running"
}

wait_for() { # FILE PATTERN SECONDS
	for _ in $(seq $(($3 * 10))); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}

field() { # KEY: the first "KEY":"VALUE" of stdin
	sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" | head -n 1
}
