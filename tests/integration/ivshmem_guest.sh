#!/bin/bash
# ivshmem_guest.sh - the ivshmem: transport live in a VM on the small
# kernel, with real ivshmem-doorbell devices, MSI-X and VFIO's no-IOMMU
# mode: one QEMU holds both ends of a channel (device 05.0 is peer 0, the
# server; 06.0 is peer 1, the client), served by vappd's own ivshmem server
# code (tests/progs/ivshmem_serve), and runs test_transport_ivshmem there,
# whose live cases must all pass: a stream both ways, reconnects, a lying
# client refused, RPC. Bounded by $IVSHMEM_TEST_LIMIT seconds (default
# 240); QEMU and the server never outlive the test.
set -u
cd "${TOP:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
limit=${IVSHMEM_TEST_LIMIT:-240}
. tests/lib/guest.sh

fail() { echo "FAIL: $*"; guest_tail 40; exit 1; }

command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 is not installed"; exit 77; }
bin=$BUILD/tests/unit/test_transport_ivshmem
serve=$BUILD/tests/progs/ivshmem_serve
[ -x "$bin" ] && [ -x "$serve" ] || fail "build $bin and $serve first (make test)"
guest_small_kernel "$BUILD/kernels/small" || fail "no small kernel"
GUEST_MACHINE=q35

dir=$(mktemp -d /tmp/vapp-ivshmem.XXXXXX)
chmod 711 "$dir"
guest_on_exit "rm -rf '$dir'"
setpriv --pdeathsig KILL -- "$serve" "$dir/appliance.sock" "$dir/guest.sock" $((1 << 20)) \
	>"$dir/serve.log" 2>&1 &
serve_pid=$!
guest_on_exit "kill $serve_pid 2>/dev/null; wait $serve_pid 2>/dev/null"
for _ in $(seq 50); do grep -q IVSHMEM-READY "$dir/serve.log" && break; sleep 0.1; done
grep -q IVSHMEM-READY "$dir/serve.log" || fail "ivshmem_serve did not start: $(cat "$dir/serve.log")"

cat >"$dir/rc" <<'RC'
echo "IVSHMEM-DEVICES $(cat /sys/bus/pci/devices/0000:00:0[56].0/device | tr '\n' ' ')"
IVSHMEM_SERVER_DEV=0000:00:05.0 IVSHMEM_CLIENT_DEV=0000:00:06.0 \
	CMOCKA_MESSAGE_OUTPUT=TAP /bin/test_transport_ivshmem
echo "IVSHMEM-TEST-RC $?"
RC
guest_initramfs "$dir/initrd.gz" "$dir/rc" -m vfio_pci -b "$bin" || fail "initramfs"

guest_boot "$dir/vm" "$dir/initrd.gz" \
	-chardev "socket,id=iv0,path=$dir/appliance.sock" \
	-device ivshmem-doorbell,chardev=iv0,vectors=2,addr=05.0 \
	-chardev "socket,id=iv1,path=$dir/guest.sock" \
	-device ivshmem-doorbell,chardev=iv1,vectors=2,addr=06.0
guest_wait "IVSHMEM-TEST-RC" "$limit" || fail "the test did not finish in the guest"
log=$(tr -d '\r' <"$GUEST_DIR/console.log")
echo "$log" | grep -E '^(IVSHMEM-|ok |not ok |#)|vrpc ivshmem'

echo "$log" | grep -q '^IVSHMEM-DEVICES 0x1110 0x1110' || fail "the guest does not see both devices"
echo "$log" | grep -q '^IVSHMEM-TEST-RC 0' || fail "test_transport_ivshmem failed in the guest"
! echo "$log" | grep -q '^not ok ' || fail "a case failed in the guest"
for c in test_stream test_lying_client test_rpc; do
	echo "$log" | grep -q "^ok .* $c\$" || fail "$c did not run (skipped?)"
	echo "$log" | grep -q "^ok .* # SKIP.* $c\|^ok .* $c # SKIP" && fail "$c was skipped"
done
grep -q 'IVSHMEM-UP 0' "$dir/serve.log" && grep -q 'IVSHMEM-UP 1' "$dir/serve.log" ||
	fail "QEMU did not connect both devices to the server: $(cat "$dir/serve.log")"
echo "ivshmem in a guest: all cases passed (QEMU start to result in $GUEST_WAIT_MS ms)"
