#!/bin/bash
# vapp_call.sh - `vapp call` against the hello appliance's daemon
# (build/bin/hello-server, examples/hello) on a unix socket, the service
# described only by hello.proto at run time: a unary call, a streamed one,
# the request from stdin, a bad JSON field (INVALID_ARGUMENT naming it), an
# unknown method, usage errors, a .proto that does not compile, a call by
# appliance name (refused until vappd brokers), and --image folders read
# through their services.desc with no protoc in PATH (a cut or garbage one
# is an error, not a crash).
set -u
cd "${TOP:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
vapp=$BUILD/bin/vapp
server_bin=$BUILD/bin/hello-server
proto=examples/hello/hello.proto
for b in "$vapp" "$server_bin"; do
	[ -x "$b" ] || { echo "FAIL: build $b first (make)"; exit 1; }
done
command -v protoc >/dev/null || { echo "protoc not installed (protobuf-compiler)"; exit 77; }

dir=$(mktemp -d /tmp/vapp-calltest.XXXXXX)
server=
cleanup() {
	[ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
addr=unix:$dir/hello.sock
failed=0 checked=0

"$server_bin" --listen "$addr" >"$dir/server.out" 2>&1 &
server=$!
for _ in $(seq 100); do
	grep -q ready "$dir/server.out" 2>/dev/null && break
	kill -0 "$server" 2>/dev/null || { cat "$dir/server.out"; echo "FAIL: server died"; exit 1; }
	sleep 0.05
done
grep -q ready "$dir/server.out" || { echo "FAIL: hello-server did not become ready"; exit 1; }

# call WANT_RC [ARGS...]: runs vapp call with a time bound, output in
# $dir/out and $dir/err; a wrong exit status is a failure.
call() {
	local want=$1 rc
	shift
	checked=$((checked + 1))
	timeout 20 "$vapp" call "$@" >"$dir/out" 2>"$dir/err" </dev/null
	rc=$?
	if [ $rc -ne "$want" ]; then
		echo "FAIL: vapp call $*: exit $rc, expected $want"
		sed 's/^/  stdout: /' "$dir/out"; sed 's/^/  stderr: /' "$dir/err"
		failed=$((failed + 1))
		return 1
	fi
}

# expect FILE TEXT WHAT: FILE must contain TEXT.
expect() {
	if ! grep -qF -- "$2" "$1"; then
		echo "FAIL: $3: no '$2' in:"; sed 's/^/  /' "$1"
		failed=$((failed + 1))
	fi
}

# Unary, by short and full name; the reply is the server's, not an echo.
call 0 --proto "$proto" "$addr" SayHello '{"name": "world"}' &&
	expect "$dir/out" '"greeting": "Hello, world!"' "unary"
call 0 -p "$proto" "$addr" vapp.hello.v1.Greeter/SayHello '{"name": "full"}' &&
	expect "$dir/out" '"greeting": "Hello, full!"' "unary, full name"

# Streamed: one JSON object a line, in order, then nothing.
if call 0 -p "$proto" "$addr" Watch '{"name": "s", "count": 3}'; then
	printf '%s\n' '{"greeting":"Hello #1, s!","seq":1}' '{"greeting":"Hello #2, s!","seq":2}' \
		'{"greeting":"Hello #3, s!","seq":3}' >"$dir/want"
	diff -u "$dir/want" "$dir/out" || { echo "FAIL: streamed items"; failed=$((failed + 1)); }
fi

# The request from stdin.
checked=$((checked + 1))
if echo '{"name": "stdin"}' | timeout 20 "$vapp" call -p "$proto" "$addr" SayHello - >"$dir/out" 2>"$dir/err"; then
	expect "$dir/out" 'Hello, stdin!' "request from stdin"
else
	echo "FAIL: request from stdin"; cat "$dir/err"; failed=$((failed + 1))
fi

# A field the request message does not have: refused before sending.
call 1 -p "$proto" "$addr" SayHello '{"name": "x", "nmae": 1}' &&
	expect "$dir/err" 'INVALID_ARGUMENT' "bad field status" &&
	expect "$dir/err" '"nmae"' "bad field named"
call 1 -p "$proto" "$addr" SayHello '{"count": "many"}' &&
	expect "$dir/err" 'at .count: expected integer' "bad value named"

# Unknown method: NOT_FOUND and the methods there are.
call 1 -p "$proto" "$addr" Goodbye '{}' &&
	expect "$dir/err" 'NOT_FOUND' "unknown method" &&
	expect "$dir/err" 'SayHello Watch' "methods listed"

# Usage errors: exit 2.
call 2 "$addr" SayHello
call 2 -p "$proto" "$addr"
call 2 -p "$proto" --timeout soon "$addr" SayHello
# --help is a man page: it names every option.
call 0 --help && for o in --proto --include --service --image --timeout "Exit status"; do
	expect "$dir/out" "$o" "--help"
done

# A .proto that does not compile: protoc's message, with its line.
printf 'syntax = "proto3";\nmessage M { int32 = 1; }\n' >"$dir/bad.proto"
call 1 -p "$dir/bad.proto" "$addr" SayHello && expect "$dir/err" 'bad.proto:2:' "protoc error"

# No server there.
call 1 -p "$proto" "unix:$dir/nobody.sock" SayHello && expect "$dir/err" 'nobody.sock' "no server"

# By appliance name with no vappd running: says so.
call 1 -p "$proto" hello SayHello && expect "$dir/err" 'vappd' "appliance name"

# --image: the services.desc the builder compiles (protoc run once, here by
# hand as the builder runs it) and the manifest; then no protoc at call time:
# PATH holds only vapp's own folder and the coreutils it needs.
mkdir -p "$dir/img1" "$dir/nopath"
cp examples/hello/manifest.yaml "$dir/img1/"
protoc --include_imports --descriptor_set_out="$dir/img1/services.desc" \
	-I examples/hello examples/hello/hello.proto
ln -s "$(command -v timeout)" "$dir/nopath/timeout"
PATH=$dir/nopath call 0 --image "$dir/img1" "$addr" SayHello '{"name": "image"}' &&
	expect "$dir/out" 'Hello, image!' "--image with services.desc, no protoc in PATH"
PATH=$dir/nopath call 0 --image "$dir/img1" "$addr" Watch '{"name": "i", "count": 1}' &&
	expect "$dir/out" '"seq":1' "--image, a streamed call"
# A hostile services.desc: every truncation, and garbage, is an error, not a crash.
size=$(stat -c %s "$dir/img1/services.desc")
mkdir -p "$dir/img3" && cp examples/hello/manifest.yaml "$dir/img3/"
for cut in 1 7 $((size / 2)) $((size - 1)); do
	head -c "$cut" "$dir/img1/services.desc" >"$dir/img3/services.desc"
	call 1 --image "$dir/img3" "$addr" SayHello && expect "$dir/err" 'services.desc' "cut at $cut"
done
head -c 4096 /dev/urandom >"$dir/img3/services.desc"
call 1 --image "$dir/img3" "$addr" SayHello && expect "$dir/err" 'services.desc' "garbage"
# An image from before services.desc: told to rebuild.
rm "$dir/img3/services.desc"
call 1 --image "$dir/img3" "$addr" SayHello && expect "$dir/err" 'rebuild' "no services.desc"

kill -0 "$server" 2>/dev/null || { echo "FAIL: hello-server died during the test"; failed=$((failed + 1)); }
echo "$checked calls checked, $failed failed"
[ $failed -eq 0 ]
