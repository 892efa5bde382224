#!/bin/bash
# build.sh - the appliances' small kernel: Debian's linux-source-6.1, `make
# tinyconfig`, then base.config and one fragment per capability (net.config,
# vsock.config, xen.config, usb.config, sound.config, direct.config). One build serves every
# appliance: base.config is built in, the capabilities are modules, and each
# manifest names the modules it loads (kernel.modules), so an appliance
# carries only its own.
#
#   kernel/build.sh              (make kernel; 11.5 minutes on 2 cores from scratch)
#
# Output, laid out as an unpacked Debian kernel package is, so that the
# builder resolves modules the same way (kernel.tree in a manifest):
#
#   $BUILD/kernels/small/vmlinuz
#   $BUILD/kernels/small/lib/modules/VERSION/   modules, modules.dep, ...
#
# The source is unpacked once into $BUILD/cache/kernel-src/ and
# kernel/patches/*.patch applied to it (in name order, patch -p1; a changed
# set of patches unpacks it again and builds from scratch), the objects kept
# in $BUILD/cache/kernel-obj/small/ (a second build only relinks what
# changed). Same inputs, same kernel: no build host or time in it. Nothing
# here is committed. Exits 77 when linux-source-6.1 is not installed.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
src_tar=/usr/src/linux-source-6.1.tar.xz
frags="kernel/base.config kernel/net.config kernel/vsock.config kernel/xen.config
	kernel/usb.config kernel/sound.config kernel/direct.config"
out=$BUILD/kernels/small
src=$BUILD/cache/kernel-src/linux-source-6.1
obj=$BUILD/cache/kernel-obj/small
[ -f "$src_tar" ] || { echo "linux-source-6.1 is not installed ($src_tar)"; exit 77; }
patches=$(find kernel/patches -name '*.patch' 2>/dev/null | LC_ALL=C sort)
# shellcheck disable=SC2086
applied=$(cat /dev/null $patches | sha256sum | cut -d' ' -f1)
if [ -f "$src/Makefile" ] && [ "$(cat "$src/.vapp-patches" 2>/dev/null)" != "$applied" ]; then
	# tar keeps the files' old dates, so objects built from a patched file
	# would look newer than the file unpatched again: they go too.
	echo "kernel: the patches changed: unpacking the source again, building from scratch"
	rm -rf "$src" "$obj"
fi
if [ ! -f "$src/Makefile" ]; then
	echo "kernel: unpacking $src_tar"
	rm -rf "$src"
	mkdir -p "$(dirname "$src")"
	timeout 600 tar -C "$(dirname "$src")" -xf "$src_tar"
	for p in $patches; do
		echo "kernel: applying $p"
		patch -s -p1 -d "$src" <"$p" || { echo "kernel: $p does not apply"; rm -rf "$src"; exit 1; }
	done
	echo "$applied" >"$src/.vapp-patches"
fi
mkdir -p "$obj"
export KBUILD_BUILD_TIMESTAMP=@${SOURCE_DATE_EPOCH:-0} KBUILD_BUILD_USER=vapp KBUILD_BUILD_HOST=vapp
kmake() { make -s -C "$src" O="$PWD/$obj" "$@"; }
echo "kernel: configuring (tinyconfig + $(echo $frags | tr ' ' '\n' | xargs -n1 basename | tr '\n' ' '))"
kmake tinyconfig >/dev/null
# shellcheck disable=SC2086
"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" $frags >/dev/null
kmake olddefconfig
# Every option the fragments set must have survived: a missing dependency
# silently drops one.
missing=0
for f in $frags; do
	while IFS= read -r line; do
		case $line in CONFIG_*=[ym])
			grep -qx "$line" "$obj/.config" || { echo "$f: not set: $line"; missing=1; } ;;
		esac
	done <"$f"
done
[ $missing = 0 ] || exit 1
echo "kernel: building on $(nproc) CPUs (bzImage and modules)"
timeout 3600 make -s -C "$src" O="$PWD/$obj" -j"$(nproc)" bzImage modules
rel=$(kmake kernelrelease)
tmp=$out.new
rm -rf "$tmp"
mkdir -p "$tmp"
cp "$obj/arch/x86/boot/bzImage" "$tmp/vmlinuz"
kmake INSTALL_MOD_PATH="$PWD/$tmp" INSTALL_MOD_STRIP=1 modules_install
# Links back to the build tree mean nothing in an image.
rm -f "$tmp/lib/modules/$rel/build" "$tmp/lib/modules/$rel/source"
[ -f "$tmp/lib/modules/$rel/modules.dep" ] || depmod -b "$tmp" "$rel"
rm -rf "$out"
mv "$tmp" "$out"
echo "kernel: $out: vmlinuz $(stat -c %s "$out/vmlinuz") bytes, $(find "$out/lib/modules" -name '*.ko' | wc -l) modules ($rel)"
