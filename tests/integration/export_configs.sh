#!/bin/bash
# export_configs.sh - `vapp export` turns a verified image folder into a
# concrete configuration for another tool, in real use:
#   - --qemu's command line, run as it is by QEMU (TCG), boots hello, and
#     hello-client calls it through the channel socket it names;
#   - --libvirt's domain has no ${...} left, names the image's files by
#     absolute path and the measured kernel command line, and passes
#     libvirt's own schema (virt-xml-validate, when it can be had);
#   - --xl's config names the same files and Xen's measured command line;
#   - an image changed after signing is refused, naming the file; a NIC
#     without --tap is refused, naming the NIC; usage errors exit 2.
# Bounded by $EXPORT_TEST_LIMIT seconds (default 180); QEMU never outlives it.
set -u
cd "${TOP:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
limit=${EXPORT_TEST_LIMIT:-180}
start=$(date +%s)
vapp=$BUILD/bin/vapp
client=$BUILD/bin/hello-client
. tests/lib/guest.sh

left() { local l=$(( limit - ($(date +%s) - start) )); echo $(( l > 0 ? l : 1 )); }
fail() { echo "FAIL: $*"; [ -n "$GUEST_DIR" ] && guest_tail 20; exit 1; }
command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 is not installed"; exit 77; }
[ -x "$vapp" ] && [ -x "$client" ] || fail "build $vapp and $client first (make)"
[ -f "$BUILD/kernels/small/vmlinuz" ] || fail "make kernel first"

work=$(mktemp -d /tmp/vapp-export.XXXXXX)
guest_on_exit "rm -rf '$work'"
img=$work/hello
timeout "$(left)" "$vapp" build -D "BUILD=$BUILD" examples/hello/manifest-small.yaml -o "$img" \
	>"$work/build.log" 2>&1 || { cat "$work/build.log"; fail "vapp build"; }

# --qemu, run as it is.
run=$work/run
mkdir -p "$run"
"$vapp" export --qemu --accel tcg --run-dir "$run" -o "$work/qemu.args" "$img" 2>"$work/err" ||
	fail "export --qemu: $(cat "$work/err")"
grep -q 'signer.pub only' "$work/err" || fail "no note that the image's own key proves no trust"
grep -q '\${' "$work/qemu.args" && fail "a placeholder left in the QEMU command line"
grep -qx -- "$img/kernel" "$work/qemu.args" || fail "the kernel is not $img/kernel"
grep -qxF -- "$(cat "$img/cmdline.tcg")" "$work/qemu.args" || fail "not the measured TCG command line"
truncate -s 16M "$run/state.img" && mkfs.ext4 -q -F -L vapp-state "$run/state.img" ||
	fail "the state volume"
mapfile -t args <"$work/qemu.args"
GUEST_DIR=$run
: >"$run/console.log"
setpriv --pdeathsig KILL -- "${args[@]}" </dev/null >"$run/qemu.log" 2>&1 &
GUEST_PID=$!
for _ in $(seq $(( $(left) * 2 ))); do
	out=$(timeout 10 "$client" --timeout 3000 "serial:$run/vapp.rpc.sock" exported 2>&1) && break
	kill -0 "$GUEST_PID" 2>/dev/null || fail "QEMU ended: $(cat "$run/qemu.log")"
	sleep 0.5
done
case $out in "Hello, exported!"*) ;; *) fail "the exported QEMU line's hello answered: $out" ;; esac
guest_stop
echo "export --qemu: booted as written, hello answered through $run/vapp.rpc.sock"

# --libvirt: concrete, the measured command line, libvirt's schema.
"$vapp" export --libvirt --run-dir /run/vapp-hello "$img" >"$work/hello.xml" 2>/dev/null ||
	fail "export --libvirt"
grep -q '\${' "$work/hello.xml" && fail "a placeholder left in the domain: $(grep '\${' "$work/hello.xml")"
grep -q "<domain type='kvm'>" "$work/hello.xml" || fail "--accel kvm is not the default"
grep -qF "<kernel>$img/kernel</kernel>" "$work/hello.xml" || fail "the domain's kernel"
grep -qF "<cmdline>$(cat "$img/cmdline.kvm")</cmdline>" "$work/hello.xml" ||
	fail "not the measured KVM command line"
grep -q "path='/run/vapp-hello/vapp.rpc.sock'" "$work/hello.xml" || fail "the channel's socket"
if command -v virt-xml-validate >/dev/null || { [ "$(id -u)" = 0 ] &&
	DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -q --no-install-recommends \
		libvirt-clients >/dev/null 2>&1; }; then
	virt-xml-validate "$work/hello.xml" domain >"$work/validate.log" 2>&1 ||
		fail "libvirt's schema: $(cat "$work/validate.log")"
	echo "export --libvirt: concrete, and valid to libvirt's schema"
else
	echo "export --libvirt: concrete (virt-xml-validate could not be had: schema not checked)"
fi

# --xl: the same files, Xen's command line.
"$vapp" export --xl --run-dir /run/vapp-hello "$img" >"$work/xl.cfg" 2>/dev/null || fail "export --xl"
grep -q '\${' "$work/xl.cfg" && fail "a placeholder left in xl.cfg"
grep -qF "kernel = \"$img/kernel\"" "$work/xl.cfg" || fail "xl.cfg's kernel: $(grep kernel "$work/xl.cfg")"
grep -qF "$(cat "$img/cmdline.xen")" "$work/xl.cfg" || fail "not the measured Xen command line"
echo "export --xl: concrete"

# Refusals.
cp -a "$img" "$work/tampered"
printf 'x' | dd of="$work/tampered/initramfs" bs=1 seek=100 conv=notrunc 2>/dev/null
out=$("$vapp" export --libvirt "$work/tampered" 2>&1) && fail "a changed image was exported"
case $out in *initramfs*) ;; *) fail "the refusal does not name the file: $out" ;; esac
sed -e 's/^  channels: \[vapp.rpc\]/  channels: [vapp.rpc]\n  nics:\n    - role: uplink/' \
	examples/hello/manifest-small.yaml >"$work/nic.yaml"
cp examples/hello/hello.proto "$work/"
timeout "$(left)" "$vapp" build -D "BUILD=$PWD/$BUILD" "$work/nic.yaml" -o "$work/nic" \
	>"$work/build2.log" 2>&1 || { cat "$work/build2.log"; fail "vapp build (a NIC)"; }
out=$("$vapp" export --qemu "$work/nic" 2>&1) && fail "a NIC without --tap was exported"
case $out in *"NIC eth0 needs --tap eth0=NAME"*) ;; *) fail "NIC without --tap: $out" ;; esac
"$vapp" export --qemu --tap eth0=vt-test "$work/nic" 2>/dev/null | grep -q 'ifname=vt-test' ||
	fail "--tap eth0=vt-test is not in the QEMU line"
"$vapp" export "$img" >/dev/null 2>&1; [ $? = 2 ] || fail "no backend: not a usage error"
"$vapp" export --xl --qemu "$img" >/dev/null 2>&1; [ $? = 2 ] || fail "two backends: not a usage error"
"$vapp" export --qemu --accel hvf "$img" >/dev/null 2>&1; [ $? = 2 ] || fail "--accel hvf accepted"
echo "export: a changed image, a NIC without its tap and usage errors refused"
