#!/bin/bash
# demo.sh: the main demo. Starts the hello appliance's daemon in one process
# and calls it from another over libvrpc: a unary call and a streamed one.
set -euo pipefail
BUILD=${BUILD:-build}
bin=$BUILD/bin
dir=$(mktemp -d /tmp/vapp-demo.XXXXXX)
server=
cleanup() {
	[ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

addr=${DEMO_ADDR:-unix:$dir/hello.sock}
echo "== starting hello-server on $addr"
"$bin/hello-server" --listen "$addr" >"$dir/server.out" 2>&1 &
server=$!
for _ in $(seq 100); do
	grep -q ready "$dir/server.out" 2>/dev/null && break
	kill -0 "$server" 2>/dev/null || { cat "$dir/server.out"; exit 1; }
	sleep 0.05
done
grep -q ready "$dir/server.out" || { echo "hello-server did not become ready"; exit 1; }

echo "== hello-client $addr vapp  (unary SayHello)"
"$bin/hello-client" "$addr" vapp
echo "== hello-client --watch 3 $addr vapp  (streamed Watch)"
"$bin/hello-client" --watch 3 "$addr" vapp
echo "== hello-client $addr ''  (an invalid argument is refused with a status)"
if "$bin/hello-client" "$addr" ''; then echo "expected a failure"; exit 1; fi
echo "== demo done"
