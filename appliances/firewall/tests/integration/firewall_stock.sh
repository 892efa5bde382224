#!/bin/bash
# firewall_stock.sh - the firewall appliance on Debian's stock cloud kernel
# (appliances/firewall/manifest-stock.yaml): the stock-kernel path stays
# available, so the whole traffic test (firewall_traffic.sh) runs on it too.
# The default manifest's image, on the project's small kernel, is held to
# its budget here: kernel + initramfs within 4 MiB (3.89 MiB now), no shell
# in it, and a manifest that asks for 48 MiB of RAM (firewall_traffic.sh
# forwards a full-speed stream in it; bench_firewall.sh measures a floor of
# 40).
set -u
cd "${TOP:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
export BUILD

img=$(mktemp -d /tmp/vapp-fw-budget.XXXXXX)
trap 'rm -rf "$img"' EXIT
"$BUILD/bin/vapp" build -D "BUILD=$BUILD" appliances/firewall/manifest.yaml -o "$img" \
	--quiet >/dev/null || { echo "FAIL: vapp build manifest.yaml (make kernel builds its kernel)"; exit 1; }
k=$(stat -c %s "$img/kernel") i=$(stat -c %s "$img/initramfs")
echo "the default image: $((k + i)) bytes (kernel $k, initramfs $i), held to $((4 * 1024 * 1024))"
if [ "${SAN:-0}" != 1 ]; then # a sanitized daemon carries libasan
	[ $((k + i)) -le $((4 * 1024 * 1024)) ] || { echo "FAIL: the default image is over 4 MiB"; exit 1; }
fi
names=$(zstd -dc "$img/initramfs" | cpio -it --quiet) || { echo "FAIL: initramfs unreadable"; exit 1; }
! grep -qx 'bin/busybox\|bin/sh' <<<"$names" || { echo "FAIL: a shell in the firewall's image"; exit 1; }
grep -qx 'usr/bin/vapp-firewalld' <<<"$names" || { echo "FAIL: no vapp-firewalld in the listing"; exit 1; }
grep -q '^memory: 48$' appliances/firewall/manifest.yaml ||
	{ echo "FAIL: manifest.yaml no longer asks for 48 MiB"; exit 1; }

FW_MANIFEST=appliances/firewall/manifest-stock.yaml bash appliances/firewall/tests/integration/firewall_traffic.sh
