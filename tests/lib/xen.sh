# xen.sh - Xen itself under QEMU (TCG), for the tests that need a real
# hypervisor: dom0 is Debian's generic kernel with a BusyBox initramfs
# holding Xen's own tools, from Debian's packages (apt-get download,
# cached in build/cache; nothing is installed on the host).
#
#   . tests/lib/xen.sh                       # after tests/lib/guest.sh
#   xen_prepare || exit 77                    # the hypervisor and the tools
#   guest_initramfs OUT RC ...               # a domU's, as for any guest
#   xen_dom0_initramfs OUT RC [guest_initramfs args...]
#   xen_boot DIR DOM0_INITRAMFS              # QEMU in the background
#   guest_wait MARKER SECONDS; guest_stop    # as for any guest
#   xen_test_init NAME PROGRAM...            # a test's start (see below)
#
# dom0's RC runs after xen_dom0_up, which its /etc/rc starts with:
# the Xen modules, xenfs, xenstored, xen-init-dom0 and xenconsoled (guest
# consoles logged to /var/log/xen/guest-NAME.log). xen_domu NAME KERNEL
# INITRD [MEMORY_MIB] (also in dom0's rc) writes a PV domU's config and
# starts it with xl; xen_console NAME MARKER SECONDS waits for MARKER on
# its console and copies the console to dom0's (so to the test's log).
#
# Measured here: Xen 4.17 needs -cpu qemu64 under TCG (-cpu max crashes
# dom0); PV needs no virtualisation extension. Xen's console is com1, dom0's
# hvc0, which Xen forwards to com1: one log.

XEN_VERSION=4.17
XEN_PKGS="xen-hypervisor-$XEN_VERSION-amd64 xen-utils-$XEN_VERSION xenstore-utils"
XEN_CACHE=$GUEST_CACHE/xen
XEN_BIN=/usr/lib/xen-$XEN_VERSION/bin
# dom0's Xen drivers (Debian builds them as modules).
# Its block back end and loop devices: vappd's state volumes.
XEN_DOM0_MODULES="xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs xen-blkback loop"

# Sets XEN_IMAGE (the hypervisor, gunzipped: a multiboot image for QEMU's
# -kernel) and XEN_ROOT (xen-utils unpacked), and the guest kernel
# (GUEST_KERNEL_PKG, linux-image-amd64: its Xen modules). @return 0, or 1
# when the packages cannot be had (then a test skips).
xen_prepare() {
	local p deb tmp
	GUEST_KERNEL_PKG=linux-image-amd64
	guest_kernel || return 1
	if [ ! -f "$XEN_CACHE/ok" ]; then
		mkdir -p "$GUEST_CACHE/debs"
		tmp=$XEN_CACHE.tmp.$$
		rm -rf "$tmp" && mkdir -p "$tmp/root"
		for p in $XEN_PKGS; do
			deb=$(ls "$GUEST_CACHE/debs/${p}"_*.deb 2>/dev/null | tail -n 1)
			if [ -z "$deb" ]; then
				_guest_log "downloading $p into $GUEST_CACHE/debs"
				(cd "$GUEST_CACHE/debs" && apt-get download -q "$p" >/dev/null 2>&1) ||
					{ _guest_log "apt-get download $p failed"; rm -rf "$tmp"; return 1; }
				deb=$(ls "$GUEST_CACHE/debs/${p}"_*.deb 2>/dev/null | tail -n 1)
			fi
			dpkg-deb -x "$deb" "$tmp/root" || { rm -rf "$tmp"; return 1; }
		done
		gunzip -c "$tmp"/root/boot/xen-$XEN_VERSION-amd64.gz >"$tmp/xen" || { rm -rf "$tmp"; return 1; }
		rm -rf "$XEN_CACHE" && mv "$tmp" "$XEN_CACHE" && touch "$XEN_CACHE/ok"
	fi
	XEN_IMAGE=$XEN_CACHE/xen
	XEN_ROOT=$XEN_CACHE/root
}

# dom0's initramfs: the caller's RC after the toolstack's start, Xen's
# tools and what they link, the Xen modules, and the caller's files.
xen_dom0_initramfs() {
	local out=$1 rc=$2 t m args=()
	shift 2
	cat "$(dirname "${BASH_SOURCE[0]}")/xen_dom0.rc" "$rc" >"$out.rc"
	for t in xl xenstored xenconsoled xen-init-dom0 vchan-socket-proxy; do
		args+=(-b "$XEN_ROOT$XEN_BIN/$t:/usr/sbin/$t")
	done
	# xenstore-read & co. are one program, named by argv[0] (links made
	# by dom0's rc).
	args+=(-b "$XEN_ROOT/usr/bin/xenstore:/usr/bin/xenstore")
	for m in $XEN_DOM0_MODULES; do args+=(-m "$m"); done
	# vchan-socket-proxy's threads dlopen libgcc_s when they end.
	args+=(-f "$(ldconfig -p | awk '/libgcc_s.so.1 .*x86-64/ { print $NF; exit }'):/lib/x86_64-linux-gnu/libgcc_s.so.1")
	guest_initramfs "$out" "$out.rc" "${args[@]}" "$@"
	local ret=$?
	rm -f "$out.rc"
	return $ret
}

# xen_boot DIR DOM0_INITRAMFS: Xen with dom0 under QEMU, in the background
# (GUEST_PID); the one console in DIR/console.log.
xen_boot() {
	local dir=$1 initrd=$2
	GUEST_DIR=$dir
	mkdir -p "$dir"
	: >"$dir/console.log"
	GUEST_BOOT_NS=$(date +%s%N)
	# Xen's own arguments, then each module with its command line; a comma
	# inside -initrd's list is written twice.
	setpriv --pdeathsig KILL -- qemu-system-x86_64 -M pc -cpu qemu64 -accel tcg \
		-m "${XEN_MEM:-1536}" -smp 1 -nographic -no-reboot -monitor none \
		-serial "file:$dir/console.log" \
		-kernel "$XEN_IMAGE" \
		-append "console=com1 com1=115200 dom0_mem=${XEN_DOM0_MEM:-512}M,max:${XEN_DOM0_MEM:-512}M" \
		-initrd "$GUEST_VMLINUZ console=hvc0 panic=-1 quiet loglevel=4,$initrd" \
		</dev/null >"$dir/qemu.log" 2>&1 &
	GUEST_PID=$!
}

# xen_hello_image DIR [--state]: the hello example built by `vapp build`
# into DIR/img, without its state volume unless --state is given (a domain
# made by hand with xl has no disk; vappd gives it one), and XEN_IMG_FILES
# the guest_initramfs arguments that put it at /img/hello in dom0.
# @return 0, or 1 with the build's last lines said.
xen_hello_image() {
	local dir=$1 f
	mkdir -p "$dir/src"
	cp examples/hello/hello.proto "$dir/src/"
	if [ "${2:-}" = --state ]; then
		cp examples/hello/manifest.yaml "$dir/src/manifest.yaml"
	else
		sed '/^state:/,/^  mount:/d' examples/hello/manifest.yaml >"$dir/src/manifest.yaml"
	fi
	if [ "${2:-}" != --state ] && grep -q '^state:' "$dir/src/manifest.yaml"; then
		echo "xen_hello_image: the manifest's state volume was not taken out"
		return 1
	fi
	"${BUILD:-build}/bin/vapp" build -D "BUILD=$PWD/${BUILD:-build}" "$dir/src/manifest.yaml" \
		-o "$dir/img" >"$dir/build.log" 2>&1 ||
		{ echo "vapp build: $(tail -n 3 "$dir/build.log")"; return 1; }
	XEN_IMG_FILES=()
	for f in "$dir"/img/*; do XEN_IMG_FILES+=(-f "$f:/img/hello/$(basename "$f")"); done
}

# xen_test_init NAME PROGRAM...: what a Xen test does first. Skips (exit 77,
# the reason said) without QEMU or Xen's packages, fails without the
# PROGRAMs, makes $work (/tmp/NAME.XXXXXX, removed at exit unless XEN_KEEP
# is set) and defines fail MSG: MSG, then the end of the console without
# Xen's own lines ($work/boot/console.log, xen_boot's DIR being $work/boot),
# then exit 1.
xen_test_init() {
	local name=$1 b
	shift
	command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 is not installed"; exit 77; }
	xen_prepare || { echo "Xen $XEN_VERSION's packages cannot be had (apt-get download failed)"; exit 77; }
	for b in "$@"; do
		[ -x "$b" ] || { echo "FAIL: build $b first (make)"; exit 1; }
	done
	work=$(mktemp -d "/tmp/$name.XXXXXX")
	guest_on_exit '[ -n "${XEN_KEEP:-}" ] || rm -rf "$work"'
}

fail() {
	echo "FAIL: $*"
	echo "--- the console, without Xen's own lines (last 40) ---"
	grep -av '^(XEN)' "$work/boot/console.log" 2>/dev/null | tail -n 40
	exit 1
}
