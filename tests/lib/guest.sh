# guest.sh - boot a throw-away Linux guest under QEMU (TCG) from a test.
#
# Sourced by bash scripts (integration tests now, the image builder later):
#
#   . tests/lib/guest.sh
#   guest_kernel || exit 77                 # Debian cloud kernel, cached
#   guest_small_kernel TREE || exit 1       # or the project's (kernel/)
#   guest_initramfs OUT RC [-m MODULE]... [-b PROGRAM[:/PATH]]... [-f FILE:/PATH]...
#   guest_boot DIR INITRAMFS [extra QEMU args]
#   guest_wait "MARKER" SECONDS             # in $GUEST_DIR/console.log
#   guest_stop                              # also runs at exit, always
#
# The kernel is Debian's linux-image-cloud-amd64, fetched with apt-get
# download into $GUEST_CACHE (build/cache by default) and never installed on
# the host; later runs reuse the cache without asking apt. Set
# GUEST_KERNEL_PKG to pick another kernel package (linux-image-amd64 ...).
#
# The initramfs is BusyBox (busybox-static), the kernel modules asked for and
# what they depend on, the programs given and their shared-library closure.
# Its /init mounts /proc, /sys, /dev, loads the modules, gives each
# virtio-serial port its /dev/virtio-ports/NAME link (udev does that on a
# normal system; there is no udev here), prints "GUEST-INIT-OK" and runs the
# caller's RC script. When RC returns the guest powers off. Entries are
# sorted, owned by 0:0 and dated $SOURCE_DATE_EPOCH, and gzip -n leaves no
# timestamp, so the same inputs give the same bytes.
#
# QEMU: GUEST_MACHINE=microvm (default), pc or q35 (PCI Express, as the
# appliances with PCI devices run; the small kernel's guests with an ivshmem
# device hung now and then on pc, their serial console silent). Under TCG a microvm guest
# often stalls calibrating the TSC against the PIT unless tsc_early_khz is
# given, so it always is. The console goes to $GUEST_DIR/console.log.
# QEMU is started with a parent-death signal, so even a test killed with
# SIGKILL leaves no QEMU behind; a normal exit, INT or TERM stops it through
# the exit trap this file installs (add your own clean-up with guest_on_exit).

GUEST_TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
GUEST_CACHE=${GUEST_CACHE:-$GUEST_TOP/build/cache}
GUEST_KERNEL_PKG=${GUEST_KERNEL_PKG:-linux-image-cloud-amd64}
GUEST_MACHINE=${GUEST_MACHINE:-microvm}
GUEST_MEM=${GUEST_MEM:-256M}
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
GUEST_PID=
GUEST_DIR=
GUEST_BOOT_NS=
_guest_exit_cmds=()

# Runs CMD... at exit, last registered first. Never replace the trap below.
guest_on_exit() {
	_guest_exit_cmds=("$*" "${_guest_exit_cmds[@]}")
}

_guest_exit() {
	local rc=$? c
	trap - EXIT INT TERM
	for c in "${_guest_exit_cmds[@]}"; do eval "$c" || true; done
	guest_stop
	exit "$rc"
}
trap _guest_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

_guest_log() { printf 'guest: %s\n' "$*" >&2; }

# Finds the versioned package behind a meta package (linux-image-cloud-amd64
# depends on linux-image-6.1.0-NN-cloud-amd64, which holds the files).
_guest_kernel_real_pkg() {
	local pkg=$1 dep
	dep=$(apt-cache depends --no-recommends --no-suggests "$pkg" 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
	echo "${dep:-$pkg}"
}

# Sets GUEST_KVER, GUEST_VMLINUZ and GUEST_MODDIR (lib/modules/KVER of the
# unpacked package). @return 0, or 1 when no kernel could be had (no cache
# and apt cannot download): a test should then skip (exit 77).
guest_kernel() {
	local dir=$GUEST_CACHE/kernel/$GUEST_KERNEL_PKG real deb tmp
	if [ ! -f "$dir/ok" ]; then
		real=$(_guest_kernel_real_pkg "$GUEST_KERNEL_PKG")
		mkdir -p "$GUEST_CACHE/debs"
		deb=$(ls "$GUEST_CACHE/debs/${real}"_*.deb 2>/dev/null | tail -n 1)
		if [ -z "$deb" ]; then
			_guest_log "downloading $real into $GUEST_CACHE/debs"
			# apt warns when root downloads where _apt cannot write; harmless.
			(cd "$GUEST_CACHE/debs" && apt-get download -q "$real" >/dev/null 2>&1) ||
				{ _guest_log "apt-get download $real failed"; return 1; }
			deb=$(ls "$GUEST_CACHE/debs/${real}"_*.deb 2>/dev/null | tail -n 1)
			[ -n "$deb" ] || return 1
		fi
		tmp=$dir.tmp.$$
		rm -rf "$tmp" && mkdir -p "$tmp"
		dpkg-deb -x "$deb" "$tmp/root" || { rm -rf "$tmp"; return 1; }
		rm -rf "$dir" && mv "$tmp" "$dir" && touch "$dir/ok"
	fi
	GUEST_VMLINUZ=$(ls "$dir"/root/boot/vmlinuz-* 2>/dev/null | head -n 1)
	[ -n "$GUEST_VMLINUZ" ] || { _guest_log "no vmlinuz in $dir"; return 1; }
	GUEST_KVER=${GUEST_VMLINUZ##*/vmlinuz-}
	GUEST_MODDIR=$dir/root/lib/modules/$GUEST_KVER
}

# The project's small kernel instead (kernel/, `make kernel`): TREE is its
# folder, laid out as an unpacked package. @return 1 when it is not built.
guest_small_kernel() {
	[ -f "$1/vmlinuz" ] || { _guest_log "no small kernel in $1 (make kernel)"; return 1; }
	GUEST_VMLINUZ=$1/vmlinuz
	GUEST_MODDIR=$(ls -d "$1"/lib/modules/* | head -n 1)
	GUEST_KVER=${GUEST_MODDIR##*/}
}

# The modules MODULE needs, then MODULE itself, as paths relative to
# GUEST_MODDIR, one a line, each once (read from the .modinfo section, so no
# depmod is needed on the host). A built-in module prints nothing.
_guest_module_closure() {
	local name=$1 f deps d
	f=$(find "$GUEST_MODDIR/kernel" -name "$name.ko" -o -name "${name//_/-}.ko" | head -n 1)
	if [ -z "$f" ]; then
		if grep -q "/${name}.ko\$" "$GUEST_MODDIR/modules.builtin" 2>/dev/null; then
			return 0
		fi
		_guest_log "module $name not found for $GUEST_KVER"
		return 1
	fi
	deps=$(objcopy -O binary --only-section=.modinfo "$f" /dev/stdout |
		tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' ')
	for d in $deps; do _guest_module_closure "$d" || return 1; done
	echo "${f#"$GUEST_MODDIR"/}"
}

# Copies PROGRAM to ROOT/DEST and every shared library ldd lists for it to
# the same path under ROOT (the dynamic loader included).
_guest_copy_program() {
	local root=$1 src=$2 dest=$3 lib
	install -D -m 0755 "$src" "$root$dest" || return 1
	for lib in $(ldd "$src" 2>/dev/null | awk '/=> \//{ print $3 } /^\t\//{ print $1 }'); do
		[ -e "$root$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$root$lib" || return 1
	done
}

# The fixed part of /init; the caller's RC script runs after it.
_guest_write_init() {
	cat >"$1" <<'EOF'
#!/bin/sh
# /init of a vapp test guest (written by tests/lib/guest.sh).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
while read -r m; do
	insmod "/lib/modules/$m" || echo "GUEST-INIT: insmod $m failed"
done </lib/modules/load-order
# udev would make /dev/virtio-ports/NAME; the kernel names the port only in
# sysfs, and only once the host has sent the name, which on a loaded machine
# comes a while after the module is loaded: wait (10 s at most) until every
# port has its name.
mkdir -p /dev/virtio-ports
if grep -q virtio_console /lib/modules/load-order; then
	i=0
	while [ $i -lt 100 ]; do
		n=0 named=0
		for p in /sys/class/virtio-ports/vport*; do
			[ -e "$p" ] || continue
			n=$((n + 1))
			name=$(cat "$p/name" 2>/dev/null)
			[ -n "$name" ] || continue
			named=$((named + 1))
			ln -sf "/dev/${p##*/}" "/dev/virtio-ports/$name"
		done
		[ $n -gt 0 ] && [ $named -eq $n ] && break
		sleep 0.1
		i=$((i + 1))
	done
	[ $i -lt 100 ] || echo "GUEST-INIT: virtio-serial ports without a name after 10 s"
fi
echo "GUEST-INIT-OK"
/bin/sh /etc/rc
echo "GUEST-RC-EXIT $?"
sync
reboot -f
EOF
	chmod 0755 "$1"
}

# guest_initramfs OUT RC [-m MODULE]... [-b PROGRAM[:/DEST]]... [-f FILE:/DEST]...
# Programs default to /bin/NAME. @return 0 or 1.
guest_initramfs() {
	local out=$1 rc=$2 root mods=() m a src dest fail=0
	shift 2
	root=$(mktemp -d "${TMPDIR:-/tmp}/guest-root.XXXXXX") || return 1
	mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,run,lib/modules}
	install -m 0755 /bin/busybox "$root/bin/busybox"
	for a in $(/bin/busybox --list); do
		[ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"
	done
	_guest_write_init "$root/init"
	install -m 0644 "$rc" "$root/etc/rc"
	: >"$root/lib/modules/load-order"
	while [ $# -gt 0 ]; do
		case $1 in
		-m) mods+=("$2") ;;
		-b) src=${2%%:*}; dest=${2#*:}; [ "$dest" = "$2" ] && dest=/bin/${src##*/}
		    _guest_copy_program "$root" "$src" "$dest" || fail=1 ;;
		-f) install -D -m 0644 "${2%%:*}" "$root${2#*:}" || fail=1 ;;
		*) _guest_log "guest_initramfs: unknown option $1"; fail=1 ;;
		esac
		shift 2
	done
	if [ ${#mods[@]} -gt 0 ]; then
		for m in "${mods[@]}"; do
			_guest_module_closure "$m" >>"$root/lib/modules/load-order.all" || fail=1
		done
		# Dependencies first, each module once.
		awk '!seen[$0]++' "$root/lib/modules/load-order.all" >"$root/lib/modules/load-order"
		rm -f "$root/lib/modules/load-order.all"
		while read -r m; do
			install -D -m 0644 "$GUEST_MODDIR/$m" "$root/lib/modules/$m" || fail=1
		done <"$root/lib/modules/load-order"
	fi
	if [ $fail = 1 ]; then
		rm -rf "$root"
		return 1
	fi
	mkdir -p "$(dirname "$out")"
	(cd "$root" && find . -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} + &&
		find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc -R 0:0 --reproducible --quiet | gzip -9n) >"$out.tmp" &&
		mv "$out.tmp" "$out"
	local ret=$?
	rm -rf "$root"
	return $ret
}

# guest_boot DIR INITRAMFS [QEMU ARGS...]: starts QEMU in the background
# (GUEST_PID) with the console in DIR/console.log and QEMU's own messages in
# DIR/qemu.log. Extra args add devices (see guest_serial_args).
guest_boot() {
	local dir=$1 initrd=$2 machine cmdline
	shift 2
	GUEST_DIR=$dir
	mkdir -p "$dir"
	: >"$dir/console.log"
	cmdline="console=ttyS0 panic=-1 quiet loglevel=4"
	case $GUEST_MACHINE in
	microvm)
		machine=(-M microvm)
		cmdline="$cmdline tsc_early_khz=2000000 reboot=t" ;;
	pc) machine=(-M pc) ;;
	q35) machine=(-M q35) ;;
	*) _guest_log "GUEST_MACHINE must be microvm, pc or q35"; return 1 ;;
	esac
	GUEST_BOOT_NS=$(date +%s%N)
	# --pdeathsig: QEMU dies with this shell even if the shell is SIGKILLed.
	setpriv --pdeathsig KILL -- qemu-system-x86_64 "${machine[@]}" -accel tcg \
		-m "$GUEST_MEM" -smp 1 -nographic -no-reboot -monitor none \
		-serial "file:$dir/console.log" \
		-kernel "$GUEST_VMLINUZ" -initrd "$initrd" -append "$cmdline" \
		"$@" </dev/null >"$dir/qemu.log" 2>&1 &
	GUEST_PID=$!
}

# QEMU args for a virtio-serial port NAME whose host end is the unix socket
# SOCK (QEMU listens; wait=off so the guest boots with nobody connected).
guest_serial_args() {
	local sock=$1 name=$2 bus=virtio-serial-device
	[ "$GUEST_MACHINE" != microvm ] && bus=virtio-serial-pci
	echo "-device $bus -chardev socket,id=c_$name,path=$sock,server=on,wait=off" \
		"-device virtserialport,chardev=c_$name,name=$name"
}

# Modules a guest needs for virtio-serial on GUEST_MACHINE.
guest_serial_modules() {
	if [ "$GUEST_MACHINE" != microvm ]; then echo "virtio_pci virtio_console"
	else echo "virtio_mmio virtio_console"; fi
}

# guest_wait MARKER SECONDS: waits until MARKER is a line fragment of the
# console log. Sets GUEST_WAIT_MS (since guest_boot). @return 0, or 1 (QEMU
# exited, or the time ran out: the console tail is printed).
guest_wait() {
	local marker=$1 limit=$(( $(date +%s) + $2 ))
	while ! grep -qF -- "$marker" "$GUEST_DIR/console.log" 2>/dev/null; do
		if ! kill -0 "$GUEST_PID" 2>/dev/null || [ "$(date +%s)" -ge "$limit" ]; then
			_guest_log "no \"$marker\" on the console (QEMU $(kill -0 "$GUEST_PID" 2>/dev/null && echo running || echo exited))"
			guest_tail
			return 1
		fi
		sleep 0.1
	done
	GUEST_WAIT_MS=$(( ($(date +%s%N) - GUEST_BOOT_NS) / 1000000 ))
}

guest_tail() {
	_guest_log "--- console tail ($GUEST_DIR/console.log) ---"
	tail -n "${1:-30}" "$GUEST_DIR/console.log" >&2 2>/dev/null
	if [ -s "$GUEST_DIR/qemu.log" ]; then
		_guest_log "--- qemu.log ---"
		tail -n 10 "$GUEST_DIR/qemu.log" >&2
	fi
}

# Stops QEMU (TERM, then KILL after 2 s) and reaps it. Idempotent.
guest_stop() {
	local i
	[ -n "$GUEST_PID" ] || return 0
	if kill -0 "$GUEST_PID" 2>/dev/null; then
		kill -TERM "$GUEST_PID" 2>/dev/null
		for i in $(seq 20); do
			kill -0 "$GUEST_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$GUEST_PID" 2>/dev/null
	fi
	wait "$GUEST_PID" 2>/dev/null
	GUEST_PID=
}
