#!/bin/bash
# build.sh - the firewall appliance's small kernel: Debian's linux-source-6.1
# (apt-get install linux-source-6.1), `make tinyconfig` plus firewall.config,
# built into $BUILD/kernels/firewall/bzImage for manifest-small.yaml.
#
#   appliances/firewall/kernel/build.sh      (about 10 minutes on 2 cores)
#
# The source is unpacked once into $BUILD/cache/kernel-src/. Nothing here is
# committed. Exits 77 when linux-source-6.1 is not installed.
set -eu
cd "$(dirname "$0")/../../.."
BUILD=${BUILD:-build}
src_tar=/usr/src/linux-source-6.1.tar.xz
frag=appliances/firewall/kernel/firewall.config
out=$BUILD/kernels/firewall
src=$BUILD/cache/kernel-src/linux-source-6.1
obj=$BUILD/cache/kernel-obj/firewall
[ -f "$src_tar" ] || { echo "linux-source-6.1 is not installed ($src_tar)"; exit 77; }
if [ ! -f "$src/Makefile" ]; then
	mkdir -p "$(dirname "$src")"
	timeout 600 tar -C "$(dirname "$src")" -xf "$src_tar"
fi
mkdir -p "$obj" "$out"
# Same inputs, same kernel: no build host or time in the image.
export KBUILD_BUILD_TIMESTAMP=@${SOURCE_DATE_EPOCH:-0} KBUILD_BUILD_USER=vapp KBUILD_BUILD_HOST=vapp
make -s -C "$src" O="$PWD/$obj" tinyconfig
"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$frag" >/dev/null
make -s -C "$src" O="$PWD/$obj" olddefconfig
# Every option of the fragment must have survived (a missing dependency
# silently drops one).
missing=0
while IFS= read -r line; do
	case $line in CONFIG_*=y)
		grep -qx "$line" "$obj/.config" || { echo "not set: $line"; missing=1; } ;;
	esac
done <"$frag"
[ $missing = 0 ] || exit 1
timeout 3600 make -s -C "$src" O="$PWD/$obj" -j"$(nproc)" bzImage
cp "$obj/arch/x86/boot/bzImage" "$out/bzImage"
echo "$out/bzImage: $(stat -c %s "$out/bzImage") bytes"
