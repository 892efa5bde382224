#!/bin/bash
# demo.sh: the main demo. Builds the hello appliance from its manifest into a
# measured, signed image, verifies it, runs it under vappd (QEMU; KVM when a
# probe proves it boots, else TCG), and calls it over typed RPC through
# vappd's broker, whose policy decides each call. Everything it starts is
# stopped at the end, and its files live in a temporary folder.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
bin=$BUILD/bin
dir=$(mktemp -d /tmp/vapp-demo.XXXXXX)
chmod 711 "$dir" # vappd runs QEMU as vapp-qemu, who must reach the run folder
vappd_pid=
cleanup() {
	if [ -n "$vappd_pid" ]; then
		kill "$vappd_pid" 2>/dev/null || true
		wait "$vappd_pid" 2>/dev/null || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
step() { printf '\n== %s\n' "$*"; }

step "vapp build examples/hello/manifest.yaml"
"$bin/vapp" build -D "BUILD=$BUILD" examples/hello/manifest.yaml -o "$dir/hello"

# Without a signing key in the manifest, vapp build signs with the
# development key it keeps under build/cache/keys.
key=$BUILD/cache/keys/dev.pub
step "vapp verify (measurement and signature)"
"$bin/vapp" verify "$dir/hello" --key "$key"

step "vappd: trusts that key; policy: the host may call Greeter on hello"
cat >"$dir/policy" <<'EOF'
vapp.hello.v1.Greeter  host  hello  allow
EOF
cat "$dir/policy"
export VAPPD_SOCKET=$dir/vappd.sock
"$bin/vappd" --foreground --socket "$VAPPD_SOCKET" --run-dir "$dir/run" \
	--state-dir "$dir/state" --trust "$key" --accel "${VAPP_ACCEL:-auto}" \
	--policy "$dir/policy" >"$dir/vappd.log" 2>&1 &
vappd_pid=$!
for _ in $(seq 50); do [ -S "$VAPPD_SOCKET" ] && break; sleep 0.1; done

step "vapp run (boots the VM; ready once its service answers)"
if ! "$bin/vapp" run "$dir/hello"; then
	tail -n 20 "$dir/vappd.log"
	exit 1
fi
"$bin/vapp" ps

step "vapp call hello SayHello (through the broker, as \"host\")"
"$bin/vapp" call hello SayHello '{"name": "vapp"}'
step "vapp call hello Watch (a streamed method)"
"$bin/vapp" call hello Watch '{"name": "vapp", "count": 3}'
step "vapp call hello SayHello with an invalid argument (refused with a status)"
if "$bin/vapp" call hello SayHello '{"name": ""}'; then
	echo "expected INVALID_ARGUMENT"
	exit 1
fi

step "vapp logs -n 4 hello (the appliance's console)"
"$bin/vapp" logs -n 4 hello
step "vapp stop hello"
"$bin/vapp" stop hello
step "demo done"
