#!/bin/bash
# boot_hello.sh - the hello appliance boots under QEMU (TCG) with vapp-init as
# PID 1, starts and serves its daemon, and vapp-init keeps its contract
# (runtime/guest-init/vapp-init.c):
#   - "vapp-init: starting ..." on the console, "ready" on vapp.ctl;
#   - the host calls Greeter through the appliance's vapp.rpc channel;
#   - "poweroff" on vapp.ctl stops the daemon ("daemon-exit N" comes back)
#     and QEMU exits within 15 s;
#   - the state volume: formatted on the first boot only, found again on the
#     second, and left clean (unmounted) by each poweroff.
# Boot-to-ready (QEMU start to "ready" on vapp.ctl) is printed for each boot.
#
# The image is what `vapp build examples/hello/manifest.yaml` makes, and QEMU
# runs from its qemu.args with ${IMAGE_DIR}, ${RUN_DIR} and ${ACCEL}=tcg
# replaced, as vappd would. BOOT_TEST_MANIFEST builds another manifest
# instead; BOOT_TEST_KEEP=1 keeps the work folder.
# Bounded by $BOOT_TEST_LIMIT seconds (default 240); QEMU never outlives it.
set -u
cd "${TOP:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
limit=${BOOT_TEST_LIMIT:-240}
start=$(date +%s)
. tests/lib/guest.sh

left() { local l=$(( limit - ($(date +%s) - start) )); echo $(( l > 0 ? l : 1 )); }
fail() {
	echo "FAIL: $*"
	[ -n "$GUEST_DIR" ] && guest_tail 40
	[ -s "${run:-/nonexistent}/ctl.out" ] && { echo "--- vapp.ctl ---"; cat "$run/ctl.out"; }
	exit 1
}

command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 is not installed"; exit 77; }
guest_kernel || { echo "no guest kernel: apt-get download $GUEST_KERNEL_PKG failed"; exit 77; }
init=$BUILD/bin/vapp-init
server=$BUILD/bin/hello-server
client=$BUILD/bin/hello-client
peer=$BUILD/tests/progs/ctl_peer
for f in "$BUILD/bin/vapp" "$init" "$server" "$client" "$peer"; do
	[ -x "$f" ] || fail "build $f first (make)"
done

work=$(mktemp -d /tmp/vapp-boot.XXXXXX)
img=$work/img
run=$work/run
mkdir -p "$img" "$run"
CTL_PID=
stop_peer() {
	[ -n "$CTL_PID" ] && kill "$CTL_PID" 2>/dev/null
	[ -n "$CTL_PID" ] && wait "$CTL_PID" 2>/dev/null
	CTL_PID=
	[ -n "${ctlw:-}" ] && exec {ctlw}>&-
	ctlw=
}
[ -n "${BOOT_TEST_KEEP:-}" ] || guest_on_exit "rm -rf '$work'"
guest_on_exit stop_peer

manifest=${BOOT_TEST_MANIFEST:-examples/hello/manifest.yaml}
timeout "$(left)" "$BUILD/bin/vapp" build -D "BUILD=$PWD/$BUILD" "$manifest" -o "$img" ||
	fail "vapp build $manifest"
for f in kernel initramfs qemu.args; do
	[ -s "$img/$f" ] || fail "the image has no $f"
done
echo "image ($manifest): kernel $(stat -c %s "$img/kernel") bytes," \
	"initramfs $(stat -c %s "$img/initramfs") bytes"

# QEMU's argv: qemu.args with the run-time placeholders replaced.
. tests/lib/image_boot.sh # image_args, image_mem
mem=$(image_mem "$img")
image_args "$img" "$run" "$mem"
qargs=("${IMAGE_ARGS[@]}")
for a in "${qargs[@]}"; do
	case $a in *'${'*) fail "qemu.args: placeholder left in $a" ;; esac
done
has_state=0
grep -q 'state.img' "$img/qemu.args" && has_state=1
[ $has_state = 1 ] && truncate -s 16M "$run/state.img"

# Filesystem state of the volume as the host sees it ("clean" or "not clean").
fs_state() {
	dumpe2fs -h "$run/state.img" 2>/dev/null | sed -n 's/^Filesystem state: *//p'
}

# boot N: one life of the appliance, from QEMU start to QEMU exit.
boot() {
	local n=$1 t0 t_ready t_off i out
	rm -f "$run"/*.sock "$run/ctl.out" "$run/ctl.in"
	: >"$run/ctl.out"
	GUEST_DIR=$run
	: >"$run/console.log"
	t0=$(date +%s%N)
	GUEST_BOOT_NS=$t0
	setpriv --pdeathsig KILL -- "${qargs[@]}" </dev/null >"$run/qemu.log" 2>&1 &
	GUEST_PID=$!
	# The host end of vapp.ctl, fed through a FIFO this shell keeps open.
	mkfifo "$run/ctl.in"
	exec {ctlw}<>"$run/ctl.in"
	"$peer" "$run/vapp.ctl.sock" "$run/ctl.out" "$(left)" <"$run/ctl.in" &
	CTL_PID=$!

	if ! guest_wait "vapp-init: starting" "$(left)"; then
		# A kernel short of memory dies before its first line (measured:
		# the cloud kernel needs about 96 MiB).
		[ -s "$run/console.log" ] || echo "note: nothing on the console; QEMU had -m $mem MiB"
		fail "boot $n: the daemon was not started"
	fi
	t_ready=
	while [ "$(date +%s)" -lt $(( start + limit )) ] && kill -0 "$GUEST_PID" 2>/dev/null; do
		if grep -qx 'ready' "$run/ctl.out"; then
			t_ready=$(( ($(date +%s%N) - t0) / 1000000 ))
			break
		fi
		sleep 0.02
	done
	[ -n "$t_ready" ] || fail "boot $n: no \"ready\" on vapp.ctl"
	echo "boot $n: QEMU start to \"ready\" on vapp.ctl in $t_ready ms" \
		"(\"vapp-init: starting\" on the console at $GUEST_WAIT_MS ms)"

	out=$(timeout "$(left)" "$client" "serial:$run/vapp.rpc.sock" "boot-$n" 2>&1) ||
		fail "boot $n: the call failed: $out"
	case $out in
	"Hello, boot-$n!"*) echo "boot $n: $out" ;;
	*) fail "boot $n: unexpected greeting: $out" ;;
	esac

	t_off=$(date +%s%N)
	echo poweroff >&"$ctlw"
	for i in $(seq 150); do
		kill -0 "$GUEST_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$GUEST_PID" 2>/dev/null && fail "boot $n: QEMU still runs 15 s after poweroff"
	wait "$GUEST_PID" 2>/dev/null
	GUEST_PID=
	echo "boot $n: poweroff to QEMU exit in $(( ($(date +%s%N) - t_off) / 1000000 )) ms"
	stop_peer
	grep -qx 'daemon-exit [0-9]*' "$run/ctl.out" || fail "boot $n: no daemon-exit on vapp.ctl"
	grep -aq 'vapp-init: powering off' "$run/console.log" || fail "boot $n: no \"powering off\""
	! grep -aq 'vapp-init: FATAL' "$run/console.log" || fail "boot $n: vapp-init failed"
}

boot 1
if [ $has_state = 1 ]; then
	grep -aq 'vapp-init: state: making an ext2 filesystem on /dev/vda' "$run/console.log" ||
		fail "boot 1: the blank state volume was not formatted"
	if command -v dumpe2fs >/dev/null; then
		[ "$(fs_state)" = clean ] || fail "boot 1: the state volume was left \"$(fs_state)\""
	fi
fi
boot 2
if [ $has_state = 1 ]; then
	grep -aq 'vapp-init: state: reusing the existing filesystem on /dev/vda' "$run/console.log" ||
		fail "boot 2: the state volume was not found again"
	! grep -aq 'making an ext2' "$run/console.log" || fail "boot 2: the state volume was formatted again"
	if command -v dumpe2fs >/dev/null; then
		[ "$(fs_state)" = clean ] || fail "boot 2: the state volume was left \"$(fs_state)\""
	fi
else
	echo "note: the image has no state volume; its checks were skipped"
fi
echo "boot_hello: two boots, calls answered, clean poweroffs in $(( $(date +%s) - start )) s"
