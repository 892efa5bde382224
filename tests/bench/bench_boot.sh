#!/bin/bash
# bench_boot.sh [--json FILE]: boot-to-ready of the hello appliance under
# vappd (QEMU start to the appliance's RPC HELLO answered, as vappd measures
# it) against the boot of a bare BusyBox initramfs (QEMU start to its /init
# printing a line) on the same kernel, machine type (microvm), accelerator
# (tcg) and memory, in the same run; the median of $BOOT_RUNS (default 3)
# boots each. Figure: boot_to_ready_ms, baseline the bare boot.
set -u
cd "${TOP:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
runs=${BOOT_RUNS:-3}
json=
[ "${1:-}" = --json ] && json=$2
export GUEST_MEM=128M GUEST_MACHINE=microvm
. tests/lib/guest.sh
. tests/lib/bench_emit.sh
guest_kernel || { echo "bench_boot: no guest kernel"; exit 1; }

work=$(mktemp -d /tmp/vapp-bench-boot.XXXXXX)
chmod 711 "$work" # vappd runs QEMU as vapp-qemu, who must reach the run folder
VAPPD_PID=
finish() {
	[ -n "$VAPPD_PID" ] && kill "$VAPPD_PID" 2>/dev/null && wait "$VAPPD_PID" 2>/dev/null
	rm -rf "$work"
}
guest_on_exit finish
# The bare boot: BusyBox, nothing loaded, a line on the console.
printf 'echo BARE-READY\n' >"$work/rc"
guest_initramfs "$work/bare.gz" "$work/rc" >/dev/null || exit 1

# The appliance, booted by vappd until its service answers HELLO.
"$BUILD/bin/vapp" build -D "BUILD=$BUILD" examples/hello/manifest.yaml -o "$work/hello" \
	--quiet >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
export VAPPD_SOCKET=$work/vappd.sock
"$BUILD/bin/vappd" --foreground --socket "$VAPPD_SOCKET" --run-dir "$work/run" \
	--state-dir "$work/state" --trust-image-key --accel tcg >"$work/vappd.log" 2>&1 &
VAPPD_PID=$!
for _ in $(seq 50); do [ -S "$VAPPD_SOCKET" ] && break; sleep 0.1; done

# Bare and appliance boots alternate: a slow moment of the machine falls on
# one pair, whose ratio the figure's median then sets aside.
for i in $(seq "$runs"); do
	guest_boot "$work/bare$i" "$work/bare.gz"
	guest_wait BARE-READY 120 >/dev/null || { echo "bench_boot: bare boot failed"; exit 1; }
	echo "$GUEST_WAIT_MS" >>"$work/bare.ms"
	guest_stop
	"$BUILD/bin/vapp" run "$work/hello" >/dev/null 2>&1 || { tail "$work/vappd.log"; exit 1; }
	"$BUILD/bin/vapp" stop hello >/dev/null 2>&1
done
grep -o 'ready in [0-9]* ms' "$work/vappd.log" | awk '{ print $3 }' >"$work/app.ms"
[ "$(wc -l <"$work/app.ms")" -eq "$runs" ] || { echo "bench_boot: vappd did not report every boot"; exit 1; }

echo "bare boots: $(tr '\n' ' ' <"$work/bare.ms")ms; the appliance's: $(tr '\n' ' ' <"$work/app.ms")ms"
bench_emit boot_to_ready_ms "$(tr '\n' ' ' <"$work/app.ms")" ms "$(tr '\n' ' ' <"$work/bare.ms")"
exit 0
