#!/bin/bash
# build_hello.sh - vapp build examples/hello twice into two folders: every
# file must have the same bytes (a reproducible image is what makes a
# published measurement mean anything); kernel + initramfs within 16 MiB;
# the initramfs holds what the manifest asks for, owned by 0:0 and dated
# SOURCE_DATE_EPOCH; another SOURCE_DATE_EPOCH gives another initramfs.
set -u
cd "${TOP:-$(dirname "$0")/../..}" || exit 1
BUILD=${BUILD:-build}
vapp=$BUILD/bin/vapp
for f in "$vapp" "$BUILD/bin/vapp-init" "$BUILD/bin/hello-server"; do
	[ -x "$f" ] || { echo "$f missing: run make first"; exit 1; }
done
command -v cpio >/dev/null || { echo "no cpio to list the archive"; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/build_hello.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
export SOURCE_DATE_EPOCH=1700000000

build() { # DIR [extra args]: a build; exits 77 when no kernel can be had
	local dir=$1
	shift
	if ! "$vapp" build examples/hello/manifest.yaml -D "BUILD=$BUILD" -o "$dir" "$@" \
		>"$dir.out" 2>"$dir.err"; then
		cat "$dir.out" "$dir.err"
		if grep -q 'apt-get download\|apt-cache' "$dir.err"; then
			echo "no Debian kernel package in build/cache and apt cannot fetch one"
			exit 77
		fi
		fail "vapp build $dir"
	fi
}

build "$tmp/a"
cat "$tmp/a.out"
build "$tmp/b" --quiet
[ -s "$tmp/b.out" ] && fail "--quiet printed: $(cat "$tmp/b.out")"

# The folder: every file of the image contract, and the same bytes twice.
files=(kernel initramfs cmdline.tcg cmdline.kvm cmdline.xen manifest.yaml services.desc
	measurement measurement.sig signer.pub qemu.args libvirt.xml xl.cfg)
for f in "${files[@]}"; do
	[ -s "$tmp/a/$f" ] || fail "$f missing or empty"
done
[ "$(cd "$tmp/a" && ls | sort)" = "$(cd "$tmp/b" && ls | sort)" ] || fail "different file lists"
for f in $(cd "$tmp/a" && ls); do
	cmp "$tmp/a/$f" "$tmp/b/$f" || fail "$f differs between two builds"
done
echo "two builds: ${#files[@]} files, identical bytes"

# One zstd frame: the magic, then a window of at most 1 MiB (what the kernel
# allocates to unpack it), the content size and a checksum.
[ "$(head -c 4 "$tmp/a/initramfs" | od -An -tx1 | tr -d ' \n')" = 28b52ffd ] ||
	fail "initramfs is not a zstd frame"
zstd -lv "$tmp/a/initramfs" >"$tmp/zinfo" 2>&1 || fail "zstd cannot read it: $(cat "$tmp/zinfo")"
w=$(sed -n 's/^Window Size: .*(\([0-9]*\) B)$/\1/p' "$tmp/zinfo")
[ -n "$w" ] && [ "$w" -le 1048576 ] || fail "window not within 1 MiB: $(grep Window "$tmp/zinfo")"
grep -q '^Check: XXH64' "$tmp/zinfo" || fail "no checksum: $(grep Check "$tmp/zinfo")"
grep -q '^Decompressed Size: ' "$tmp/zinfo" || fail "no content size in the frame"
# One command line per backend: TCG's calibration fix only under TCG, Xen's
# console only under Xen.
for b in tcg kvm xen; do
	[ "$(tail -c 1 "$tmp/a/cmdline.$b" | od -An -c | tr -d ' ')" != '\n' ] ||
		fail "cmdline.$b ends in a newline"
done
case $(cat "$tmp/a/cmdline.tcg") in "console=ttyS0 panic=-1 quiet tsc_early_khz=2000000"*) ;;
*) fail "cmdline.tcg: $(cat "$tmp/a/cmdline.tcg")" ;; esac
grep -q tsc_early_khz "$tmp/a/cmdline.kvm" && fail "cmdline.kvm has TCG's tsc_early_khz"
grep -q 'console=hvc0' "$tmp/a/cmdline.xen" || fail "cmdline.xen has no console=hvc0"
grep -q 'console=hvc0' "$tmp/a/xl.cfg" || fail "xl.cfg has no console=hvc0"

# What is inside, listed by GNU cpio (an independent reader of the format).
zstd -dc "$tmp/a/initramfs" | TZ=UTC0 cpio -itv --quiet >"$tmp/list" 2>"$tmp/cpio.err" ||
	fail "cpio cannot read it: $(cat "$tmp/cpio.err")"
names=$(zstd -dc "$tmp/a/initramfs" | cpio -it --quiet)
for want in init bin/busybox bin/sh usr/bin/hello-server etc/vapp/daemon etc/vapp/restart \
	etc/vapp/modules etc/vapp/channels etc/vapp/name etc/vapp/manifest.yaml etc/vapp/proto/hello.proto \
	lib64/ld-linux-x86-64.so.2 lib/x86_64-linux-gnu/libc.so.6 dev/console; do
	grep -qx -- "$want" <<<"$names" || fail "/$want not in the initramfs"
done
grep -q '^lib/x86_64-linux-gnu/libprotobuf-c\.so\.' <<<"$names" || fail "libprotobuf-c not in the initramfs"
[ "$names" = "$(LC_ALL=C sort <<<"$names")" ] || fail "entries not sorted"
awk '$3 != "root" || $4 != "root" { bad = 1 } END { exit bad }' "$tmp/list" || fail "an entry not owned by 0:0"
zstd -dc "$tmp/a/initramfs" | cpio -i --quiet --to-stdout etc/vapp/daemon >"$tmp/daemon"
printf '/usr/bin/hello-server\n--attach\nchan:vapp.rpc\n' | cmp - "$tmp/daemon" ||
	fail "etc/vapp/daemon is not the manifest's argv"
[ "$(zstd -dc "$tmp/a/initramfs" | cpio -i --quiet --to-stdout etc/vapp/name)" = hello ] ||
	fail "etc/vapp/name is not the manifest's name"
# Every mtime is SOURCE_DATE_EPOCH (as cpio -tv shows a date of another year).
stamp=$(TZ=UTC0 date -d "@$SOURCE_DATE_EPOCH" '+ %b %e %Y ' | tr -s ' ')
n=$(wc -l <"$tmp/list")
[ "$(tr -s ' ' <"$tmp/list" | grep -cF -- "$stamp")" = "$n" ] || fail "an entry not dated$stamp"
echo "entries: $n, all owned by 0:0, all dated$stamp"

# Sizes: kernel + initramfs within the budget of a minimal appliance.
k=$(stat -c %s "$tmp/a/kernel")
i=$(stat -c %s "$tmp/a/initramfs")
budget=$((16 * 1024 * 1024))
printf 'kernel %d bytes (%.2f MiB), initramfs %d bytes (%.2f MiB), sum %.2f MiB of 16 MiB\n' \
	"$k" "$(echo "$k/1048576" | bc -l)" "$i" "$(echo "$i/1048576" | bc -l)" \
	"$(echo "($k+$i)/1048576" | bc -l)"
if [ $((k + i)) -gt $budget ]; then
	# Sanitized daemons carry libasan and libubsan: not a minimal appliance.
	[ "${SAN:-0}" = 1 ] && echo "over budget, but this is a SAN=1 build" || fail "over the 16 MiB budget"
fi

# Sensitivity: the determinism above is not a builder that ignores its input.
SOURCE_DATE_EPOCH=1700000001 build "$tmp/c" --quiet
cmp -s "$tmp/a/initramfs" "$tmp/c/initramfs" &&
	fail "another SOURCE_DATE_EPOCH gave the same initramfs"
cmp "$tmp/a/kernel" "$tmp/c/kernel" || fail "the kernel changed with SOURCE_DATE_EPOCH"

"$vapp" verify "$tmp/a" >/dev/null || fail "vapp verify refuses a fresh build"
echo "build_hello: ok"
