#!/bin/bash
# hvconfig_boot.sh: the QEMU command lines hypervisor-config generates boot.
# The golden qemu.args of tests/hvconfig/ (test_hvconfig checks they are what
# the generator writes), placeholders replaced as the runtime does, start the
# Debian cloud kernel under TCG with a BusyBox initramfs: on microvm
# (channels-state) and on q35 (pci-usb, minus vfio-pci: no device to hand
# over here). Checks: the console reaches ttyS0 although the command line
# also names hvc0 (Xen's console), each channel is a named virtio-serial
# port (a line sent on vapp.ctl's socket reaches the guest), the state disk is /dev/vda, QEMU made the channel and QMP sockets,
# and a reboot from the guest ends QEMU (reboot=t, -no-reboot).
# Exit 0 pass, 77 skip (no kernel to be had).
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$TOP"
. tests/lib/guest.sh

guest_kernel || { echo "no kernel (apt-get download linux-image-cloud-amd64 failed)"; exit 77; }
work=$(mktemp -d)
guest_on_exit 'rm -rf "$work"'

# The guest waits for a line from the host on vapp.ctl: the sockets are
# checked while QEMU surely runs, and the host->guest path is exercised.
cat >"$work/rc" <<'RC'
echo "HV-WAITING"
# Until the host connects, a port reads as end-of-file: retry (bounded).
line=
for i in $(seq 300); do
	read -r line </dev/virtio-ports/vapp.ctl
	[ -n "$line" ] && break
	sleep 0.1
done
echo "HV-CTL $line"
echo "HV-CMDLINE $(cat /proc/cmdline)"
echo "HV-PORTS $(ls /dev/virtio-ports | tr '\n' ' ')"
[ -b /dev/vda ] && echo "HV-VDA $(cat /sys/block/vda/size)"
RC

boot() { # CASE MACHINE MODULES...
	local name=$1 machine=$2 run=$work/$1/run img=$work/$1/img args=() line skip=0 start
	shift 2
	mkdir -p "$run" "$img"
	ln -s "$GUEST_VMLINUZ" "$img/kernel"
	local mods=()
	for m in "$@"; do mods+=(-m "$m"); done
	guest_initramfs "$img/initramfs" "$work/rc" "${mods[@]}" || return 1
	truncate -s 16M "$run/state.img"
	while IFS= read -r line; do
		# q35 here has no device to pass through: drop "-device vfio-pci,...".
		if [ "$line" = -device ]; then skip=1; continue; fi
		if [ $skip = 1 ]; then
			skip=0
			case $line in vfio-pci,*) continue ;; esac
			args+=(-device)
		fi
		args+=("$line")
	done < <(sed -e "s|\${RUN_DIR}|$run|g" -e "s|\${IMAGE_DIR}|$img|g" \
		-e 's|\${ACCEL}|tcg|g' "tests/hvconfig/$name.qemu.args")
	GUEST_DIR=$run
	GUEST_BOOT_NS=$(date +%s%N)
	start=$(date +%s)
	setpriv --pdeathsig KILL -- "${args[@]}" </dev/null >"$run/qemu.log" 2>&1 &
	GUEST_PID=$!
	guest_wait "HV-WAITING" 60 || return 1
	local fail=0
	for sock in qmp $(grep -o 'name=[a-z.]*$' "tests/hvconfig/$name.qemu.args" | cut -d= -f2); do
		[ -S "$run/$sock.sock" ] || { echo "FAIL: $name: no socket $sock.sock"; fail=1; }
	done
	# perl-base is on every Debian system; it speaks AF_UNIX.
	timeout 10 perl -MIO::Socket::UNIX -e '$s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "$!\n";
		print $s "go\n"; sleep 1' "$run/vapp.ctl.sock" || { echo "FAIL: $name: cannot write to vapp.ctl.sock"; fail=1; }
	guest_wait "GUEST-RC-EXIT" 60 || return 1
	echo "$name ($machine): rc done after ${GUEST_WAIT_MS} ms"
	# The guest reboots; -no-reboot makes that the end of QEMU.
	for _ in $(seq 100); do kill -0 "$GUEST_PID" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$GUEST_PID" 2>/dev/null; then
		echo "FAIL: $name: QEMU still runs 10 s after the guest rebooted"; return 1
	fi
	wait "$GUEST_PID"; GUEST_PID=
	local c=$run/console.log
	grep -q "HV-CTL go" "$c" || { echo "FAIL: $name: the guest did not read go on vapp.ctl"; fail=1; }
	grep -q "HV-CMDLINE .*console=ttyS0 panic=-1 quiet tsc_early_khz=2000000" "$c" || { echo "FAIL: $name: cmdline"; fail=1; }
	for port in vapp.ctl $(grep -o 'name=vapp\.[a-z]*$' "tests/hvconfig/$name.qemu.args" | cut -d= -f2); do
		grep -q "HV-PORTS .*\b$port\b" "$c" || { echo "FAIL: $name: no port $port"; fail=1; }
	done
	grep -q "HV-VDA 32768" "$c" || { echo "FAIL: $name: no 16 MiB /dev/vda"; fail=1; }
	grep -E '^HV-' "$c"
	[ $fail = 0 ] || { guest_tail; return 1; }
}

boot channels-state microvm virtio_mmio virtio_console virtio_blk || exit 1
boot pci-usb q35 virtio_pci virtio_console virtio_blk || exit 1
echo "both machines booted from the generated command lines"
