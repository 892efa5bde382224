#!/bin/bash
# firewall_stock.sh - the firewall appliance on Debian's stock cloud kernel
# (appliances/firewall/manifest-stock.yaml): the stock-kernel path stays
# available, so the whole traffic test (firewall_traffic.sh) runs on it too.
# The default manifest's image, on the project's small kernel, is held to
# what it measures here: kernel + initramfs within 5.25 MiB (5.02 MiB now;
# the aim is 4), and a manifest that boots it in 64 MiB of RAM
# (firewall_traffic.sh boots it so; 48 runs out of memory while the
# initramfs unpacks).
set -u
cd "${TOP:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
export BUILD

img=$(mktemp -d /tmp/vapp-fw-budget.XXXXXX)
trap 'rm -rf "$img"' EXIT
"$BUILD/bin/vapp" build -D "BUILD=$BUILD" appliances/firewall/manifest.yaml -o "$img" \
	--quiet >/dev/null || { echo "FAIL: vapp build manifest.yaml (make kernel builds its kernel)"; exit 1; }
k=$(stat -c %s "$img/kernel") i=$(stat -c %s "$img/initramfs.cpio.gz")
echo "the default image: $((k + i)) bytes (kernel $k, initramfs $i), held to $((21 * 256 * 1024))"
if [ "${SAN:-0}" != 1 ]; then # a sanitized daemon carries libasan
	[ $((k + i)) -le $((21 * 256 * 1024)) ] || { echo "FAIL: the default image is over 5.25 MiB"; exit 1; }
fi
grep -q '^memory: 64$' appliances/firewall/manifest.yaml ||
	{ echo "FAIL: manifest.yaml no longer asks for 64 MiB"; exit 1; }

FW_MANIFEST=appliances/firewall/manifest-stock.yaml bash appliances/firewall/tests/integration/firewall_traffic.sh
