#!/bin/bash
# libvirt_run.sh - a libvirt user runs an appliance as they run anything
# else: `vapp export --libvirt` of the hello image (Debian's cloud kernel on
# a microvm, and the small kernel, which has no ACPI), `virsh define`,
# `virsh start` in a real libvirtd (Debian's, the QEMU driver, TCG), a call
# through the channel socket the domain names, `virsh destroy` and
# `undefine`. This libvirtd is the test's own: started here with its
# virtlogd, stopped at the end (a libvirtd already running is left alone,
# and the test skips). Bounded by $LIBVIRT_TEST_LIMIT seconds (default 240).
set -u
cd "${TOP:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
limit=${LIBVIRT_TEST_LIMIT:-240}
start=$(date +%s)
vapp=$BUILD/bin/vapp
client=$BUILD/bin/hello-client
left() { local l=$(( limit - ($(date +%s) - start) )); echo $(( l > 0 ? l : 1 )); }

[ "$(id -u)" = 0 ] || { echo "libvirtd's system mode needs root"; exit 77; }
if ! command -v libvirtd >/dev/null || ! command -v virsh >/dev/null; then
	DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -q --no-install-recommends \
		libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients >/dev/null 2>&1
fi
command -v libvirtd >/dev/null && command -v virtlogd >/dev/null && command -v virsh >/dev/null ||
	{ echo "libvirtd cannot be had (Debian libvirt-daemon)"; exit 77; }
pgrep -x libvirtd >/dev/null && { echo "a libvirtd runs already: not this test's to use"; exit 77; }
[ -x "$vapp" ] && [ -x "$client" ] || { echo "FAIL: build $vapp and $client first (make)"; exit 1; }

work=$(mktemp -d /tmp/vapp-libvirt.XXXXXX)
chmod 755 "$work" # libvirt runs QEMU as libvirt-qemu
LV=() DOMAIN=
cleanup() {
	[ -n "$DOMAIN" ] && { virsh -c qemu:///system destroy "$DOMAIN"; virsh -c qemu:///system undefine "$DOMAIN"; } >/dev/null 2>&1
	for p in "${LV[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${LV[@]}"; do for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done; kill -9 "$p" 2>/dev/null; done
	[ -n "${LIBVIRT_TEST_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	tail -n 5 "$work/libvirtd.log" 2>/dev/null
	tail -n 10 "$work"/*/run/console.log 2>/dev/null
	exit 1
}

# Debian's QEMU driver runs QEMU as libvirt-qemu, which libvirt-daemon-system
# would have made.
id libvirt-qemu >/dev/null 2>&1 ||
	useradd --system --no-create-home --shell /usr/sbin/nologin libvirt-qemu
virtlogd >"$work/virtlogd.log" 2>&1 &
LV+=($!)
libvirtd >"$work/libvirtd.log" 2>&1 &
LV+=($!)
for _ in $(seq 100); do virsh -c qemu:///system version >/dev/null 2>&1 && break; sleep 0.1; done
virsh -c qemu:///system version >/dev/null 2>&1 || fail "libvirtd did not come up"

run_one() { # MANIFEST LABEL
	local dir=$work/$2 out
	mkdir -p "$dir/run" && chmod 777 "$dir/run"
	timeout "$(left)" "$vapp" build -D "BUILD=$PWD/$BUILD" "$1" -o "$dir/img" >"$dir/build.log" 2>&1 ||
		{ cat "$dir/build.log"; fail "$2: vapp build"; }
	chmod -R a+rX "$dir/img"
	"$vapp" export --libvirt --accel tcg --run-dir "$dir/run" "$dir/img" >"$dir/domain.xml" 2>/dev/null ||
		fail "$2: vapp export"
	truncate -s 16M "$dir/run/state.img" && mkfs.ext4 -q -F -L vapp-state "$dir/run/state.img"
	virsh -c qemu:///system define "$dir/domain.xml" >"$dir/virsh.log" 2>&1 ||
		fail "$2: virsh define: $(cat "$dir/virsh.log")"
	DOMAIN=hello
	virsh -c qemu:///system start hello >>"$dir/virsh.log" 2>&1 ||
		fail "$2: virsh start: $(cat "$dir/virsh.log")"
	for _ in $(seq 60); do
		out=$(timeout 10 "$client" --timeout 3000 "serial:$dir/run/vapp.rpc.sock" "$2" 2>&1) && break
		sleep 1
	done
	case $out in "Hello, $2!"*) ;; *) fail "$2: the domain's hello answered: $out" ;; esac
	virsh -c qemu:///system destroy hello >/dev/null 2>&1 || fail "$2: virsh destroy"
	virsh -c qemu:///system undefine hello >/dev/null 2>&1 || fail "$2: virsh undefine"
	DOMAIN=
	echo "libvirt: $1 exported, defined, started, called ($out), destroyed"
}
run_one examples/hello/manifest.yaml cloud-kernel
[ -f "$BUILD/kernels/small/vmlinuz" ] && run_one examples/hello/manifest-small.yaml small-kernel
echo "libvirt runs vapp's exported domains in $(( $(date +%s) - start )) s"
