#!/bin/bash
# bench_direct.sh [--json FILE]: a guest VM calling an appliance VM under
# QEMU (TCG, the small kernel), on the direct channel vappd pairs them with
# (ivshmem: memory the two VMs share, no host process in the path) against
# the same calls through vappd's broker (the guest's virtio-serial gate,
# the broker, the appliance's port), in one run, from one guest program:
# a 64-byte Echo's round trip (1,000 calls each way) and 512 KiB replies
# (60 each way). The appliance is echo_server (tests/proto/echo.proto)
# built by vapp build from a manifest written here, with devices.direct.
# Figures: rtt_ivshmem_p50_us (baseline: rtt_brokered_p50_us), and
# bulk_ivshmem_MBps (baseline: bulk_brokered_MBps).
set -u
cd "${TOP:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
json=
[ "${1:-}" = --json ] && json=$2
CALLS=${DIRECT_BENCH_CALLS:-1000}
BULK_CALLS=${DIRECT_BENCH_BULK:-60}
. tests/lib/guest.sh
. tests/lib/bench_emit.sh
tree=$BUILD/kernels/small
for f in bin/vapp bin/vappd tests/progs/echo_server tests/progs/echo_rtt kernels/small/vmlinuz; do
	[ -e "$BUILD/$f" ] || { echo "bench_direct: build $BUILD/$f first (make; make kernel)"; exit 1; }
done
guest_small_kernel "$tree" || exit 1
GUEST_MACHINE=q35
GUEST_MEM=128M
work=$(mktemp -d /tmp/vapp-bench-direct.XXXXXX)
chmod 711 "$work"
VAPPD_PID=
guest_on_exit '[ -n "$VAPPD_PID" ] && { kill "$VAPPD_PID"; wait "$VAPPD_PID"; } 2>/dev/null; [ -n "${DIRECT_BENCH_KEEP:-}" ] || rm -rf "$work"'
fail() { echo "bench_direct: $*"; tail -n 20 "$work/vappd.log" 2>/dev/null; exit 1; }

cat >"$work/echo.yaml" <<YAML
name: echo
version: 0.1.0
vendor: vapp
description: The tests' Echo service as an appliance, for bench_direct.
kernel:
  tree: $PWD/$tree
  modules: [vfio_pci]
memory: 64
binaries:
  - source: $PWD/$BUILD/tests/progs/echo_server
    destination: /usr/bin/echo_server
daemon:
  command: [/usr/bin/echo_server, --attach, "chan:vapp.rpc"]
services:
  - proto: $PWD/tests/proto/echo.proto
    name: vrpc.test.Echo
    channel: vapp.rpc
devices:
  channels: [vapp.rpc]
  direct: true
YAML
"$BUILD/bin/vapp" build "$work/echo.yaml" -o "$work/echo" >"$work/build.log" 2>&1 ||
	{ cat "$work/build.log"; fail "vapp build"; }
echo "vrpc.test.Echo  guest1  echo  allow direct=yes" >"$work/policy"
export VAPPD_SOCKET=$work/vappd.sock
getent group vapp-test >/dev/null || groupadd --system vapp-test
"$BUILD/bin/vappd" --foreground --socket "$VAPPD_SOCKET" --run-dir "$work/run" \
	--state-dir "$work/state" --trust-image-key --accel tcg --boot-timeout 90 --group vapp-test \
	--policy "$work/policy" --guest guest1 >"$work/vappd.log" 2>&1 &
VAPPD_PID=$!
for _ in $(seq 50); do [ -S "$VAPPD_SOCKET" ] && break; sleep 0.1; done
"$BUILD/bin/vapp" run "$work/echo" >"$work/run.log" 2>&1 || { cat "$work/run.log"; fail "vapp run"; }

cat >"$work/rc" <<RC
mkdir -p /dev/virtio-ports
for p in /sys/class/virtio-ports/vport*; do ln -sf "/dev/\${p##*/}" "/dev/virtio-ports/\$(cat "\$p/name")"; done
echo "RTT-DIRECT \$(/bin/echo_rtt ivshmem:0000:00:05.0 $CALLS 2>&1)"
echo "RTT-BROKER \$(/bin/echo_rtt serial:/dev/virtio-ports/vapp.rpc $CALLS 2>&1)"
echo "BULK-DIRECT \$(/bin/echo_rtt --bulk ivshmem:0000:00:05.0 $BULK_CALLS 2>&1)"
echo "BULK-BROKER \$(/bin/echo_rtt --bulk serial:/dev/virtio-ports/vapp.rpc $BULK_CALLS 2>&1)"
echo BENCH-DONE
RC
guest_initramfs "$work/g.gz" "$work/rc" -m vfio_pci -b "$BUILD/tests/progs/echo_rtt" || fail "initramfs"
guest_boot "$work/g" "$work/g.gz" -device virtio-serial-pci \
	-chardev "socket,id=gate,path=$work/run/guests/guest1.sock,reconnect=1" \
	-device virtserialport,chardev=gate,name=vapp.rpc \
	-chardev "socket,id=d,path=$work/run/guests/guest1.direct/echo.sock" \
	-device ivshmem-doorbell,chardev=d,vectors=2,addr=05.0
guest_wait BENCH-DONE 600 || fail "the guest did not finish"
log=$(tr -d '\r' <"$GUEST_DIR/console.log")
field() { echo "$log" | sed -n "s/^$1 .*$2 \\([0-9.]*\\).*/\\1/p" | head -n 1; }
rd=$(field RTT-DIRECT p50) rb=$(field RTT-BROKER p50)
bd=$(echo "$log" | sed -n 's/^BULK-DIRECT ECHO-BULK \([0-9.]*\) .*/\1/p')
bb=$(echo "$log" | sed -n 's/^BULK-BROKER ECHO-BULK \([0-9.]*\) .*/\1/p')
[ -n "$rd" ] && [ -n "$rb" ] && [ -n "$bd" ] && [ -n "$bb" ] ||
	fail "missing figures: $(echo "$log" | grep -E '^(RTT|BULK)-')"
bench_emit rtt_brokered_p50_us "$rb" us
bench_emit rtt_ivshmem_p50_us "$rd" us "$rb"
bench_emit bulk_brokered_MBps "$bb" MBps
bench_emit bulk_ivshmem_MBps "$bd" MBps "$bb"
