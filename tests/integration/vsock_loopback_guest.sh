#!/bin/bash
# vsock_loopback_guest.sh - the vsock transport live, over loopback vsock
# (CID 1), inside a throw-away QEMU guest that has the vsock_loopback module.
#
# This host has AF_VSOCK but no vsock_loopback (and no /dev/vhost-vsock), so
# test_transport_vsock leaves its live cases out here. The guest loads the
# module, runs the same test program, and every case must pass there,
# including the live connect/accept and a real RPC. Bounded by
# $VSOCK_TEST_LIMIT seconds (default 180); QEMU never outlives the test.
set -u
cd "${TOP:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
limit=${VSOCK_TEST_LIMIT:-180}
. tests/lib/guest.sh

fail() { echo "FAIL: $*"; guest_tail 40; exit 1; }

command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 is not installed"; exit 77; }
guest_kernel || { echo "no guest kernel: apt-get download $GUEST_KERNEL_PKG failed"; exit 77; }
bin=$BUILD/tests/unit/test_transport_vsock
[ -x "$bin" ] || fail "build $bin first (make test)"

dir=$(mktemp -d /tmp/vapp-vsock.XXXXXX)
guest_on_exit "rm -rf '$dir'"

cat >"$dir/rc" <<'EOF'
echo "VSOCK-LOOPBACK $(test -d /sys/module/vsock_loopback && echo yes || echo no)"
CMOCKA_MESSAGE_OUTPUT=TAP /bin/test_transport_vsock
echo "VSOCK-TEST-RC $?"
EOF
guest_initramfs "$dir/initrd.gz" "$dir/rc" -m vsock_loopback -b "$bin" || fail "initramfs"

guest_boot "$dir/vm" "$dir/initrd.gz"
guest_wait "VSOCK-TEST-RC" "$limit" || fail "the test did not finish in the guest"
log=$(tr -d '\r' <"$GUEST_DIR/console.log")
echo "$log" | grep -E '^(VSOCK-|ok |not ok |#)'

echo "$log" | grep -q '^VSOCK-LOOPBACK yes' || fail "vsock_loopback did not load in the guest"
echo "$log" | grep -q '^VSOCK-TEST-RC 0' || fail "test_transport_vsock failed in the guest"
! echo "$log" | grep -q '^not ok ' || fail "a case failed in the guest"
# The live cases must have run, not been left out.
echo "$log" | grep -q '^ok .* test_loopback_exchange' || fail "the live exchange did not run"
echo "$log" | grep -q '^ok .* test_loopback_rpc' || fail "the RPC over vsock did not run"
echo "vsock over loopback in a guest: all cases passed (QEMU start to result in $GUEST_WAIT_MS ms)"
