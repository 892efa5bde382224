#!/bin/bash
# init_supervise.sh - vapp-init's supervision in a real guest, with a shell
# daemon that misbehaves on purpose (no manifest, no vapp build: the image is
# put together with tests/lib/guest.sh in the layout vapp build writes):
#   - runs 1 and 2 exit with status 3: restarted per "on-failure" after 200
#     then 400 ms (the back-off doubles), "daemon-exit 3" on vapp.ctl each time;
#   - every run leaves an orphan behind: PID 1 must reap it (no zombies);
#   - run 3 ignores SIGTERM: on "poweroff" it gets SIGKILL 5 s later
#     ("daemon-exit 137"), then the VM ends;
#   - lines on vapp.ctl that are not requests (unknown, overlong) are ignored.
# Bounded by $INIT_TEST_LIMIT seconds (default 180); QEMU never outlives it.
set -u
cd "${TOP:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
limit=${INIT_TEST_LIMIT:-180}
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
peer=$BUILD/tests/progs/ctl_peer
for f in "$init" "$peer"; do
	[ -x "$f" ] || fail "build $f first (make)"
done

work=$(mktemp -d /tmp/vapp-init.XXXXXX)
run=$work/run
etc=$work/etc
mkdir -p "$run" "$etc"
CTL_PID=
stop_peer() {
	[ -n "$CTL_PID" ] && kill "$CTL_PID" 2>/dev/null
	[ -n "$CTL_PID" ] && wait "$CTL_PID" 2>/dev/null
	CTL_PID=
}
guest_on_exit "rm -rf '$work'"
guest_on_exit stop_peer

# The daemon: counts its runs in /run (a tmpfs, so it survives restarts but
# not the VM), leaves an orphan each time, fails twice, then stays and
# ignores SIGTERM.
cat >"$etc/d.sh" <<'EOF'
n=$(cat /run/n 2>/dev/null || echo 0)
n=$((n + 1))
echo $n >/run/n
echo "DAEMON-RUN $n ppid $PPID"
sh -c 'sleep 0.2' &
[ $n -lt 3 ] && exit 3
trap '' TERM
sleep 1
z=0
for s in /proc/[0-9]*/stat; do
	read -r _ _ st _ <"$s" 2>/dev/null && [ "$st" = Z ] && z=$((z + 1))
done
echo "DAEMON-ZOMBIES $z"
while :; do sleep 1; done
EOF
printf '%s\n' /bin/sh /etc/vapp/d.sh >"$etc/daemon"
printf 'on-failure\n200\n' >"$etc/restart"
printf 'name: supervise-test\n' >"$etc/manifest.yaml"
mods=()
: >"$etc/modules.all"
for m in virtio_mmio virtio_console; do
	mods+=(-m "$m")
	_guest_module_closure "$m" >>"$etc/modules.all" || fail "module $m"
done
# guest.sh puts module M (relative to the kernel's module folder) at /lib/modules/M.
awk '!seen[$0]++ { print "/lib/modules/" $0 }' "$etc/modules.all" >"$etc/modules"
files=()
for f in d.sh daemon restart manifest.yaml modules; do files+=(-f "$etc/$f:/etc/vapp/$f"); done
# No channels file: vapp.ctl is waited for all the same.
guest_initramfs "$work/initrd.gz" /dev/null "${mods[@]}" -b "$init:/init" "${files[@]}" ||
	fail "initramfs"

guest_boot "$run" "$work/initrd.gz" -device virtio-serial-device \
	-chardev "socket,id=ctl,path=$run/vapp.ctl.sock,server=on,wait=off" \
	-device virtserialport,chardev=ctl,name=vapp.ctl
mkfifo "$run/ctl.in"
exec {ctlw}<>"$run/ctl.in"
"$peer" "$run/vapp.ctl.sock" "$run/ctl.out" "$(left)" <"$run/ctl.in" &
CTL_PID=$!

guest_wait "DAEMON-ZOMBIES" "$(left)" || fail "the daemon's third run never came"
con() { tr -d '\r' <"$run/console.log"; }
con | grep -qx 'vapp-init: daemon exited (status 3), restarting in 200 ms' ||
	fail "no restart after 200 ms"
con | grep -qx 'vapp-init: daemon exited (status 3), restarting in 400 ms' ||
	fail "the back-off did not double"
[ "$(con | grep -c '^vapp-init: starting /bin/sh /etc/vapp/d.sh$')" = 3 ] || fail "not 3 starts"
con | grep -qx 'DAEMON-RUN 3 ppid 1' || fail "the daemon's parent is not PID 1"
z=$(con | sed -n 's/^DAEMON-ZOMBIES //p')
[ "$z" = 0 ] || fail "$z zombie(s): PID 1 did not reap the orphans"
echo "restarts: 200 ms then 400 ms, orphans reaped"

# Junk first: an unknown word, an overlong line (dropped whole, so its
# "poweroff" tail must not count), then the real request.
long=$(printf 'x%.0s' $(seq 400))
printf 'reboot-now\n%spoweroff\n' "$long" >&"$ctlw"
sleep 1
kill -0 "$GUEST_PID" 2>/dev/null || fail "junk on vapp.ctl ended the VM"
con | grep -q 'vapp.ctl: unknown request ignored' || fail "the unknown request was not noted"
t_off=$(date +%s%N)
echo poweroff >&"$ctlw"
for i in $(seq 150); do
	kill -0 "$GUEST_PID" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$GUEST_PID" 2>/dev/null && fail "QEMU still runs 15 s after poweroff"
ms=$(( ($(date +%s%N) - t_off) / 1000000 ))
wait "$GUEST_PID" 2>/dev/null
GUEST_PID=
stop_peer
con | grep -q 'vapp-init: the daemon is still running after 5 s: SIGKILL' || fail "no SIGKILL"
# 5 s of guest time is about 4.1 s here: under TCG the guest's TSC is the
# host's (2.445 GHz on this machine) but tsc_early_khz says 2 GHz, so the
# guest's clock runs 22% fast. Without the grace it would be ~0.2 s.
[ $ms -ge 3000 ] || fail "the VM ended $ms ms after poweroff: the daemon had no 5 s grace"
want=$(printf 'ready\ndaemon-exit 3\nready\ndaemon-exit 3\nready\ndaemon-exit 137')
[ "$(cat "$run/ctl.out")" = "$want" ] || fail "vapp.ctl said: $(tr '\n' '|' <"$run/ctl.out")"
echo "poweroff with a daemon ignoring SIGTERM: SIGKILL, VM gone after $ms ms"
echo "init_supervise: passed in $(( $(date +%s) - start )) s"
