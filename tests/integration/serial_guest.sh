#!/bin/bash
# serial_guest.sh - libvrpc's serial transport between a real QEMU guest and
# the host. The guest's /init serves Echo on serial:/dev/virtio-ports/vrpc0;
# the host calls it through QEMU's chardev socket, goes away and comes back
# (at once, and after a pause the guest must notice), and every round must
# be answered right. While the host is away the guest's server must sleep,
# not spin on the port's POLLHUP. Bounded: the whole test gives up after
# $SERIAL_TEST_LIMIT seconds (default 240); QEMU never outlives it.
set -u
cd "${TOP:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
limit=${SERIAL_TEST_LIMIT:-240}
start=$(date +%s)
. tests/lib/guest.sh

# Seconds left, at least 1 (timeout 0 would mean no limit at all).
left() { local l=$(( limit - ($(date +%s) - start) )); echo $(( l > 0 ? l : 1 )); }
fail() { echo "FAIL: $*"; guest_tail 40; exit 1; }

command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 is not installed"; exit 77; }
guest_kernel || { echo "no guest kernel: apt-get download $GUEST_KERNEL_PKG failed"; exit 77; }
srv=$BUILD/tests/progs/echo_server
cli=$BUILD/tests/progs/serial_echo_client
[ -x "$srv" ] && [ -x "$cli" ] || fail "build $srv and $cli first (make)"

dir=$(mktemp -d /tmp/vapp-serial.XXXXXX)
guest_on_exit "rm -rf '$dir'"

# The server's CPU time (utime + stime, in clock ticks) goes to the console
# every second, so the host can see whether it spins.
cat >"$dir/rc" <<'EOF'
VRPC_DEBUG=1 /bin/echo_server --attach serial:/dev/virtio-ports/vrpc0 &
pid=$!
while kill -0 $pid 2>/dev/null; do
	set -- $(cat /proc/$pid/stat)
	echo "SERVER-CPU $((${14} + ${15}))"
	sleep 1
done
echo "SERVER-EXIT"
EOF
mods=()
for m in $(guest_serial_modules); do mods+=(-m "$m"); done
guest_initramfs "$dir/initrd.gz" "$dir/rc" "${mods[@]}" -b "$srv" || fail "initramfs"
echo "initramfs: $(stat -c %s "$dir/initrd.gz") bytes, kernel $GUEST_KVER, machine $GUEST_MACHINE"

sock=$dir/vrpc0.sock
# shellcheck disable=SC2046 # guest_serial_args prints separate words
guest_boot "$dir/vm" "$dir/initrd.gz" $(guest_serial_args "$sock" vrpc0)
guest_wait "ECHO-SERVER-READY" 90 || fail "the guest's server did not start"
echo "boot: QEMU start to server ready in $GUEST_WAIT_MS ms"

# The console ends its lines with \r\n.
cpu_now() { tr -d '\r' <"$GUEST_DIR/console.log" | awk '/^SERVER-CPU [0-9]+$/ { n = $2 } END { print n }'; }
# Fails if the server used more than 30 ticks (0.3 s) of CPU in 3 s.
check_idle() {
	local a b
	sleep 1.2; a=$(cpu_now); sleep 3; b=$(cpu_now)
	[[ $a =~ ^[0-9]+$ && $b =~ ^[0-9]+$ ]] || fail "no SERVER-CPU lines on the console"
	echo "server CPU while the host is away ($1): $((b - a)) ticks in 3 s"
	[ $((b - a)) -le 30 ] || fail "the server spins while the host is away ($1)"
}

check_idle "never connected yet"

# Three sessions back to back: the host goes away and comes back at once.
timeout "$(left)" "$cli" "serial:$sock" 3 20 vrpc0 || fail "calls, quick reconnects"

check_idle "after it left"
grep -aq "serial peer went away" "$GUEST_DIR/console.log" ||
	fail "the guest never noticed that the host went away"

# After a pause: the guest has seen the host leave, and must take it back.
timeout "$(left)" "$cli" "serial:$sock" 2 20 vrpc0 || fail "calls after a pause"

kill -0 "$GUEST_PID" 2>/dev/null || fail "QEMU exited early"
! grep -aq "SERVER-EXIT" "$GUEST_DIR/console.log" || fail "the guest's server exited"
echo "serial transport: calls, going away and coming back all answered in $(( $(date +%s) - start )) s"
