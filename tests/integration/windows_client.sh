#!/bin/bash
# windows_client.sh - the Windows build of libvrpc's client half, for real:
# a mingw-w64 echo_client.exe (tests/win/echo_client.c) runs under wine and
# calls a Linux Echo server (tests/progs/echo_server) over tcp: on
# loopback, through protoc-c stubs, the blocking API and the JSON reflection;
# then again through the serial transport (overlapped I/O on a named pipe).
# Then the same client against a port nobody listens on must fail.
#
# wine's first start creates its prefix (build/win/wineprefix, kept for the
# next run); the time it took is printed. Everything started here (the
# server, wineserver and what it runs) is stopped at exit, pass or fail.
set -u
top=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top"
BUILD=${BUILD:-build}
. tests/lib/wine.sh
exe=build/win/tests/win/echo_client.exe
server=$BUILD/tests/progs/echo_server
logs=$BUILD/test-logs/windows_client
mkdir -p "$logs"

wine_init
case $? in 0) ;; 77) exit 77 ;; *) exit 1 ;; esac
server_pid=

cleanup() {
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null
		wait "$server_pid" 2>/dev/null
	fi
	wine_stop
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "FAIL: $*"
	exit 1
}

# Cross-build if `make test` did not already (running this script alone).
if [ ! -f "$exe" ] || [ ! -x "$server" ]; then
	make --no-print-directory SAN="${SAN:-0}" win "$server" || fail "build failed"
fi

# A free port: let the server try a few random ones (it exits at once if the
# port is taken), and wait for it to say it listens.
for try in 1 2 3 4 5; do
	port=$((20000 + RANDOM % 40000))
	: >"$logs/server.log"
	"$server" "tcp:127.0.0.1:$port" >"$logs/server.log" 2>&1 &
	server_pid=$!
	for _ in $(seq 50); do
		grep -q ECHO-SERVER-READY "$logs/server.log" && break
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
	done
	grep -q ECHO-SERVER-READY "$logs/server.log" && break
	wait "$server_pid" 2>/dev/null
	server_pid=
done
[ -n "$server_pid" ] || { cat "$logs/server.log"; fail "the Linux server did not start"; }

# run_client NAME ARGS...: one run of the Windows client, which must pass
# every check.
run_client() {
	local name=$1 rc took oks start
	shift
	start=$(date +%s%N)
	timeout -k 5 60 "$wine" "$exe" "$@" >"$logs/$name.log" 2>&1
	rc=$?
	took=$(( ($(date +%s%N) - start) / 1000000 ))
	tr -d '\r' <"$logs/$name.log"
	echo "windows client ($name): exit $rc in $took ms"
	[ $rc -eq 0 ] || fail "the Windows client ($name) failed (exit $rc)"
	# Every check ran, not just the first few.
	oks=$(tr -d '\r' <"$logs/$name.log" | grep -c '^ok ')
	[ "$oks" -ge 20 ] || fail "only $oks checks passed ($name)"
	grep -q '^not ok' "$logs/$name.log" && fail "a check failed ($name)"
}

# Over tcp: straight to the Linux server.
run_client tcp "tcp:127.0.0.1:$port"
# Over serial: the transport a Windows guest uses, on a named pipe that a
# relay in the client process joins to the same server (see echo_client.c).
run_client serial -p "tcp:127.0.0.1:$port"

# The server goes away: the same client must now fail to connect, quickly.
kill "$server_pid"
wait "$server_pid" 2>/dev/null
server_pid=
timeout -k 5 60 "$wine" "$exe" "tcp:127.0.0.1:$port" >"$logs/refused.log" 2>&1
rc=$?
tr -d '\r' <"$logs/refused.log"
[ $rc -eq 1 ] || fail "a client with no server exited $rc, not 1"
grep -q '^not ok 1 - connect and HELLO: .*ECONNREFUSED' "$logs/refused.log" ||
	fail "the refused connection was not reported as ECONNREFUSED"
echo "PASS"
