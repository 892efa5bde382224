# usb_rig.sh - the USB proxy appliance in its VM under vappd, with devices
# QEMU emulates on its controller, for usb_vm.sh and bench_usb.sh (sourced
# from the top of the tree, after setting limit):
#   usb_rig_init          checks the tools (exit 77 without them), makes
#                         $work (removed on exit); guest.sh's kernel is
#                         Debian's generic one (vhci-hcd, usb-storage)
#   usb_stick MIB         $work/stick.img: ext2 holding data.bin, MIB MiB of
#                         random bytes (its SHA-256 in $sum)
#   usb_image RULES [MEM] $work/img: the production manifest with the stick
#                         and a keyboard; $work/rules: the device rules
#                         RULES (text), which vappd hands the appliance
#   usb_vappd_up NAME GUEST...  vappd with those guests' gates, each allowed
#                         the whole service but Assign (the host's, the
#                         administrator's), and the image running as NAME
#                         with the setting usb.rules from $work/rules
#   usb_gate GUEST        QEMU args joining a guest's port vapp.usb to its gate
#   usb_guest_mods        -m args: what a guest needs for a USB disk
#   qmp NAME CMD [ARGS]   one QMP command to the appliance's QEMU (the
#                         keyboard's id is kbd)
#   as_alice ARGS...      vapp-usb through alice's gate, from the host
#   dev_line TEXT         the line of alice's list holding TEXT
#   fail MSG, left
GUEST_KERNEL_PKG=linux-image-amd64
. tests/lib/guest.sh
. tests/lib/vappd.sh
BUILD=${BUILD:-build}
start=$(date +%s)
vapp=$BUILD/bin/vapp
vappd=$BUILD/bin/vappd
usb=$BUILD/bin/vapp-usb
work=
VAPPD_PID=

left() { local l=$(( limit - ($(date +%s) - start) )); echo $(( l > 0 ? l : 1 )); }

fail() {
	echo "FAIL: $*"
	for f in "$work/vappd.log" "$work"/run/*/console.log "$work"/*/console.log; do
		[ -f "$f" ] && { echo "--- ${f#"$work"/} (last 15 lines) ---"; tail -n 15 "$f"; }
	done
	exit 1
}

_usb_cleanup() {
	vappd_teardown "$VAPPD_PID" "$work/qemu.pids"
	[ -n "$work" ] && [ -z "${USB_KEEP:-}" ] && rm -rf "$work"
}

usb_rig_init() {
	local t b
	for t in qemu-system-x86_64 mke2fs; do
		command -v "$t" >/dev/null || { echo "$t is not installed"; exit 77; }
	done
	[ "$(id -u)" = 0 ] || { echo "needs root (vappd runs QEMU as vapp-qemu)"; exit 77; }
	guest_kernel || { echo "no guest kernel: apt-get download $GUEST_KERNEL_PKG failed"; exit 77; }
	for b in "$vapp" "$vappd" "$usb" "$BUILD/bin/vapp-usbd"; do
		[ -x "$b" ] || { echo "FAIL: build $b first (make)"; exit 1; }
	done
	work=$(mktemp -d /tmp/vapp-usb.XXXXXX)
	chmod 711 "$work" # QEMU runs as vapp-qemu, who must reach the run folder
	guest_on_exit _usb_cleanup
}

usb_stick() {
	mkdir -p "$work/stick"
	head -c $(( $1 * 1024 * 1024 )) /dev/urandom >"$work/stick/data.bin"
	sum=$(sha256sum <"$work/stick/data.bin" | cut -d' ' -f1)
	# Room for ext2's own blocks besides the file.
	mke2fs -q -t ext2 -d "$work/stick" "$work/stick.img" "$(( $1 + $1 / 8 + 2 ))M" || fail "mke2fs"
	chmod 644 "$work/stick.img" # QEMU (as vapp-qemu) reads it
}

usb_image() { # RULES [MEMORY]
	local mem=${2:-128}
	[ "${SAN:-0}" = 1 ] && mem=384 # a sanitized daemon's initramfs unpacks bigger
	mkdir -p "$work/src"
	cp appliances/usb-proxy/usb.proto appliances/usb-proxy/rules.default "$work/src/"
	printf '%s\n' "$1" >"$work/rules"
	sed -e "s|^memory: .*|memory: $mem|" appliances/usb-proxy/manifest.yaml >"$work/src/manifest.yaml"
	cat >>"$work/src/manifest.yaml" <<EOF
hypervisor:
  qemu:
    args: [-drive, "file=$work/stick.img,if=none,id=stick,format=raw,readonly=on",
           -device, "usb-storage,drive=stick", -device, "usb-kbd,id=kbd"]
EOF
	timeout "$(left)" "$vapp" build -D "BUILD=$BUILD" "$work/src/manifest.yaml" -o "$work/img" \
		>"$work/build.log" 2>&1 || fail "vapp build: $(tail -n 3 "$work/build.log")"
}

usb_vappd_up() { # NAME GUEST...
	local name=$1 g args=()
	shift
	printf '%s\n' "vapp.usb.v1.UsbProxy host $name allow" \
		"vapp.usb.v1.UsbProxy.Assign @anyvm $name deny" >"$work/policy"
	for g in "$@"; do
		echo "vapp.usb.v1.UsbProxy $g $name allow" >>"$work/policy"
		args+=(--guest "$g")
	done
	"$vapp" policy check "$work/policy" >/dev/null || fail "the test's policy does not check"
	export VAPPD_SOCKET=$work/vappd.sock
	"$vappd" --foreground --socket "$VAPPD_SOCKET" --run-dir "$work/run" --state-dir "$work/state" \
		--trust-image-key --accel tcg --boot-timeout 120 --policy "$work/policy" \
		--setting "$name:usb.rules=$work/rules" "${args[@]}" >"$work/vappd.log" 2>&1 &
	VAPPD_PID=$!
	for _ in $(seq 50); do [ -S "$VAPPD_SOCKET" ] && break; sleep 0.1; done
	timeout "$(left)" "$vapp" run --name "$name" "$work/img" >"$work/run.out" 2>&1 ||
		fail "vapp run: $(cat "$work/run.out")"
	vappd_qemu_pid "$name" >>"$work/qemu.pids"
	# The devices come a moment after the daemon.
	for _ in $(seq 100); do
		[ "$(as_alice list 2>/dev/null | wc -l)" -ge 2 ] && break
		sleep 0.3
	done
}

usb_gate() {
	local bus=virtio-serial-device
	[ "$GUEST_MACHINE" = pc ] && bus=virtio-serial-pci
	echo "-device $bus -chardev socket,id=gate,path=$work/run/guests/$1.sock,reconnect=1 -device virtserialport,chardev=gate,name=vapp.usb"
}

usb_guest_mods() {
	local m
	for m in $(guest_serial_modules) vhci_hcd usb_storage sd_mod ext4 crc32c_generic; do
		echo "-m $m"
	done
}

qmp() { # NAME COMMAND [ARGUMENTS-JSON]
	printf '{"execute":"qmp_capabilities"}\n{"execute":"%s","arguments":%s}\n' "$2" "${3:-{\}}" |
		timeout 10 socat -t 2 - "UNIX-CONNECT:$work/run/$1/qmp.sock"
}

as_alice() { timeout 30 "$usb" -c "unix:$work/run/guests/alice.sock" "$@"; }
dev_line() { as_alice list 2>/dev/null | grep -F "$1"; }
