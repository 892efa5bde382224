# fp_vm.sh - the fingerprint appliance in its VM under vappd, sourced by
# fp_vappd.sh (from the top of the tree):
#   fp_vm_init          checks the tools (exit 77 without them), makes $work
#                       (removed on exit), builds the test image into
#                       $work/img: the production manifest plus the test
#                       reader's port (vapp.fp-reader) and $FP_READER
#                       (--test-reader, the default, or --test-image-reader)
#   fp_vappd_up GUEST...  vappd with $work/policy and those guests' gates
#   fp_reader_up NAME   a connection to NAME's test reader port that stays
#                       open (fd 7); reader CMD writes one command to it
#                       (the image reader's records: cat FILE >&7)
#   fail MSG, left
# Clean-up (the exit trap, or guest.sh's when it is sourced first): vappd, the QEMUs in $work/qemu.pids, $pids, $work.
. tests/lib/vappd.sh
BUILD=${BUILD:-build}
start=$(date +%s)
vapp=$BUILD/bin/vapp
vappd=$BUILD/bin/vappd
fpcli=$BUILD/bin/vapp-fp
work=
VAPPD_PID=
pids=()

fp_vm_cleanup() {
	exec 7>&- 2>/dev/null
	vappd_teardown "$VAPPD_PID" "$work/qemu.pids"
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	[ -n "$work" ] && [ -z "${FP_KEEP:-}" ] && rm -rf "$work"
}

fail() {
	echo "FAIL: $*"
	for f in "$work/vappd.log" "$work"/run/*/console.log "$work"/*.log; do
		[ -f "$f" ] && { echo "--- $(basename "$f") (last 15 lines) ---"; tail -n 15 "$f"; }
	done
	exit 1
}
left() { local l=$(( limit - ($(date +%s) - start) )); echo $(( l > 0 ? l : 1 )); }

fp_vm_init() {
	local t b
	for t in qemu-system-x86_64 socat; do
		command -v "$t" >/dev/null || { echo "$t is not installed"; exit 77; }
	done
	[ "$(id -u)" = 0 ] || { echo "needs root (vappd runs QEMU as vapp-qemu)"; exit 77; }
	for b in "$vapp" "$vappd" "$fpcli" "$BUILD/bin/vapp-fpd"; do
		[ -e "$b" ] || { echo "FAIL: build $b first (make)"; exit 1; }
	done
	# With tests/lib/guest.sh sourced, its exit trap runs ours too.
	if declare -F guest_on_exit >/dev/null; then guest_on_exit fp_vm_cleanup
	else trap fp_vm_cleanup EXIT; fi
	work=$(mktemp -d /tmp/vapp-fp.XXXXXX)
	chmod 711 "$work" # QEMU runs as vapp-qemu, who must reach the run folder
	mkdir -p "$work/src"
	cp appliances/fingerprint/fingerprint.proto "$work/src/"
	# The test reader: a port and the option, after the daemon's command;
	# a sanitized daemon's initramfs needs more memory to unpack.
	awk -v opt="${FP_READER:---test-reader}" -v mem="$([ "${SAN:-0}" = 1 ] && echo 384 || echo 0)" '
		/^memory:/ && mem > 0 { print "memory: " mem; next }
		/^  channels: \[vapp.fingerprint\]$/ { print "  channels: [vapp.fingerprint, vapp.fp-reader]"; next }
		{ print }
		/^    - \/var\/lib\/fingerprint$/ && !done { print "    - " opt; print "    - /dev/virtio-ports/vapp.fp-reader"; done = 1 }
	' appliances/fingerprint/manifest.yaml >"$work/src/manifest.yaml"
	grep -q -- "${FP_READER:---test-reader}" "$work/src/manifest.yaml" && grep -q "vapp.fp-reader\]" "$work/src/manifest.yaml" ||
		fail "the test manifest was not made (has the production manifest changed?)"
	timeout 300 "$vapp" build -D "BUILD=$BUILD" "$work/src/manifest.yaml" -o "$work/img" \
		>"$work/build.log" 2>&1 || fail "vapp build: $(tail -n 3 "$work/build.log")"
	sed -n 's/^ *\(total\) .*MiB.*/  &/p' "$work/build.log"
}

fp_vappd_up() { # GUEST...
	local g args=()
	for g in "$@"; do args+=(--guest "$g"); done
	export VAPPD_SOCKET=$work/vappd.sock
	"$vappd" --foreground --socket "$VAPPD_SOCKET" --run-dir "$work/run" \
		--state-dir "$work/state" --trust-image-key --accel tcg --boot-timeout 120 \
		--policy "$work/policy" "${args[@]}" >"$work/vappd.log" 2>&1 &
	VAPPD_PID=$!
	for _ in $(seq 50); do [ -S "$VAPPD_SOCKET" ] && break; sleep 0.1; done
	[ -S "$VAPPD_SOCKET" ] || fail "vappd did not make its socket"
}

fp_reader_up() { # NAME
	local sock=$work/run/$1/vapp.fp-reader.sock
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
	[ -S "$sock" ] || fail "no test reader port $sock"
	exec 7> >(exec socat -u - "UNIX-CONNECT:$sock" 2>>"$work/reader.log")
}

reader() { echo "$1" >&7 || fail "the test reader's port: \"$1\""; }
