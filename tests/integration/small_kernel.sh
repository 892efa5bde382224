#!/bin/bash
# small_kernel.sh - the project's small kernel (kernel/build.sh, make kernel)
# as a manifest's kernel.tree:
#   - the tree is whole: vmlinuz, one lib/modules/VERSION with modules.dep,
#     and each capability's modules in it (net, vsock, xen, usb, sound);
#   - hello on it (examples/hello/manifest-small.yaml) is within 4 MiB, its
#     kernel the tree's vmlinuz byte for byte, with no module to load;
#   - a tree with two module folders, or none, or no modules.dep, is refused
#     by name;
#   - hello on it boots and keeps vapp-init's whole contract in 64 MiB
#     (boot_hello.sh with that manifest).
set -u
cd "${TOP:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
vapp=$BUILD/bin/vapp
tree=$BUILD/kernels/small
fail() { echo "FAIL: $*"; exit 1; }
[ -f "$tree/vmlinuz" ] || fail "no $tree/vmlinuz: make kernel builds it"

# The tree.
vers=$(ls "$tree/lib/modules")
[ "$(echo "$vers" | wc -l)" = 1 ] || fail "lib/modules holds $(echo $vers)"
mods=$tree/lib/modules/$vers
[ -s "$mods/modules.dep" ] || fail "no modules.dep"
for m in nf_tables ipv6 virtio_net vmw_vsock_virtio_transport xen-gntalloc xen-evtchn \
	xen-blkfront xhci-pci usbip-host usb-storage usbhid snd-hda-intel snd-hda-codec-generic; do
	grep -q "/$m\.ko:" "$mods/modules.dep" || fail "module $m is not in the tree"
done
echo "tree: $vers, vmlinuz $(stat -c %s "$tree/vmlinuz") bytes, $(grep -c . "$mods/modules.dep") modules"

work=$(mktemp -d /tmp/vapp-small-kernel.XXXXXX)
trap 'rm -rf "$work" examples/hello/.small-kernel-test.yaml' EXIT

# hello on it: small, and the kernel is the tree's.
"$vapp" build -D "BUILD=$BUILD" examples/hello/manifest-small.yaml -o "$work/img" >"$work/build.out" 2>&1 ||
	{ cat "$work/build.out"; fail "vapp build manifest-small.yaml"; }
cat "$work/build.out"
cmp -s "$work/img/kernel" "$tree/vmlinuz" || fail "the image's kernel is not the tree's vmlinuz"
k=$(stat -c %s "$work/img/kernel") i=$(stat -c %s "$work/img/initramfs")
echo "hello on the small kernel: $((k + i)) bytes (kernel $k, initramfs $i)"
if [ "${SAN:-0}" != 1 ]; then # a sanitized daemon carries libasan
	[ $((k + i)) -le $((4 * 1024 * 1024)) ] || fail "hello on the small kernel is over 4 MiB"
fi
[ -z "$(zstd -dc "$work/img/initramfs" | cpio -i --quiet --to-stdout etc/vapp/modules)" ] ||
	fail "hello loads modules on a kernel that has its drivers built in"

# Trees that are not whole are refused, saying what is missing.
refused() { # TREE WORDS: the build of hello on TREE fails, saying WORDS
	sed "s|tree: \${BUILD}/kernels/small|tree: $1|" examples/hello/manifest-small.yaml \
		>examples/hello/.small-kernel-test.yaml
	if "$vapp" build -D "BUILD=$BUILD" examples/hello/.small-kernel-test.yaml -o "$work/bad" \
		>"$work/bad.out" 2>&1; then
		rm -f examples/hello/.small-kernel-test.yaml
		fail "a build on $1 succeeded"
	fi
	rm -f examples/hello/.small-kernel-test.yaml
	grep -q "$2" "$work/bad.out" || { cat "$work/bad.out"; fail "$1: no '$2' in the error"; }
	echo "refused: $(grep -m1 "$2" "$work/bad.out")"
}
mkdir -p "$work/two/lib/modules/1.0" "$work/two/lib/modules/2.0" "$work/none" "$work/nodep/lib/modules/1.0"
cp "$tree/vmlinuz" "$work/two/vmlinuz"
cp "$tree/vmlinuz" "$work/none/vmlinuz"
cp "$tree/vmlinuz" "$work/nodep/vmlinuz"
refused "$work/two" "more than one folder in lib/modules"
refused "$work/none" "has no lib/modules/VERSION folder"
refused "$work/nodep" "has no modules.dep"

# And it boots, the whole contract of vapp-init, in 64 MiB (40 runs out of
# memory: the kernel holds 18 MiB of 48 reserved at boot).
BOOT_TEST_MANIFEST=examples/hello/manifest-small.yaml bash tests/integration/boot_hello.sh
