#!/bin/bash
# bench_fp_image.sh - the fingerprint appliance image's figures (the
# production manifest), one JSON object a line on the --json FILE:
#
#   fp_image_bytes          kernel + initramfs; baseline: the 16 MiB
#                           budget of the project's appliances
#   fp_boot_to_ready_ms     QEMU start to the daemon answering GetStatus over
#                           its channel, median of 3 boots, TCG
#   fp_ram_floor_mib        the least -m at which it still boots to answering
#                           (bisected to 8 MiB); baseline: the manifest's -m
#
# The VM is booted from the image's qemu.args (QEMU as root here, no vappd),
# its state volume a fresh ext4 each boot as vappd would make it; no reader
# is attached (the daemon answers without one). Under TCG every figure is a
# TCG figure.
#   bench_fp_image.sh [--json FILE]
set -u
cd "${TOP:-$(dirname "$0")/../../../..}"
json=
[ "${1:-}" = --json ] && json=${2:-}
BUILD=${BUILD:-build}
. tests/lib/bench_emit.sh
. tests/lib/image_boot.sh
vapp=$BUILD/bin/vapp
cli=$BUILD/bin/vapp-fp
for b in "$vapp" "$cli"; do [ -x "$b" ] || { echo "build $b first (make)"; exit 1; }; done
command -v qemu-system-x86_64 >/dev/null || { echo "bench_fp_image: skipped: no QEMU"; exit 0; }
work=$(mktemp -d /tmp/bench-fp-image.XXXXXX)
run=$work/run
QPID=
vm_stop() {
	[ -n "$QPID" ] && kill -9 "$QPID" 2>/dev/null
	while [ -n "$QPID" ] && kill -0 "$QPID" 2>/dev/null; do sleep 0.05; done
	QPID=
}
trap 'vm_stop; rm -rf "$work"' EXIT
fail() {
	echo "bench_fp_image: $*"
	tail -n 15 "$run/console.log" 2>/dev/null
	exit 1
}

timeout 600 "$vapp" build -D "BUILD=$BUILD" appliances/fingerprint/manifest.yaml -o "$work/img" \
	>"$work/build.log" 2>&1 || fail "vapp build: $(tail -n 3 "$work/build.log")"

# Boots at MEM MiB: 0 when the daemon answers within 90 s. Sets READY_MS.
vm_boot() {
	local t0
	vm_stop
	rm -rf "$run" && mkdir -p "$run"
	truncate -s 16M "$run/state.img" && mkfs.ext4 -q -F -L vapp-state "$run/state.img" || return 1
	: >"$run/console.log"
	image_args "$work/img" "$run" "$1"
	t0=$(date +%s%N)
	setpriv --pdeathsig KILL -- "${IMAGE_ARGS[@]}" </dev/null >"$run/qemu.log" 2>&1 &
	QPID=$!
	disown "$QPID" # killed by vm_stop: no word from the shell about it
	for _ in $(seq 450); do
		kill -0 "$QPID" 2>/dev/null || return 1
		if grep -aq "vapp-fpd: serving" "$run/console.log" &&
			timeout 5 "$cli" -c "serial:$run/vapp.fingerprint.sock" status 2>/dev/null |
			grep -q '"version"'; then
			READY_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
			return 0
		fi
		sleep 0.2
	done
	return 1
}

kb=$(stat -c %s "$work/img/kernel")
ib=$(stat -c %s "$work/img/initramfs")
echo "image: kernel $kb + initramfs $ib bytes"
bench_emit fp_image_bytes $((kb + ib)) bytes $((16 * 1024 * 1024))

mem=$(image_mem "$work/img")
times=()
for i in 1 2 3; do
	vm_boot "$mem" || fail "boot $i at $mem MiB: the daemon did not answer"
	times+=("$READY_MS")
	echo "boot $i: QEMU start to GetStatus answered in $READY_MS ms"
done
bench_emit fp_boot_to_ready_ms "${times[*]}" ms

floor=$(image_ram_floor 32 "$mem" vm_boot)
vm_stop
bench_emit fp_ram_floor_mib "$floor" MiB "$mem"
