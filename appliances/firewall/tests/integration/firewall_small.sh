#!/bin/bash
# firewall_small.sh - the firewall appliance on its own small kernel
# (appliances/firewall/manifest-small.yaml: tinyconfig from linux-source-6.1
# plus kernel/firewall.config) stays within the appliance's limits: kernel +
# initramfs within the builder's 16 MiB budget, booting in 64 MiB of RAM; and the whole
# traffic test (firewall_traffic.sh) passes on it. The kernel build takes
# about 10 minutes on 2 cores the first time, then comes from build/cache.
# test-timeout: 1800
set -u
cd "${TOP:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
export BUILD

timeout 2400 appliances/firewall/kernel/build.sh >"/tmp/fw-kernel.$$.log" 2>&1
rc=$?
tail -n 3 "/tmp/fw-kernel.$$.log"
rm -f "/tmp/fw-kernel.$$.log"
[ $rc = 0 ] || { echo "FAIL: the small kernel did not build (exit $rc)"; exit 1; }

img=$(mktemp -d /tmp/vapp-fw-small.XXXXXX)
trap 'rm -rf "$img"' EXIT
"$BUILD/bin/vapp" build -D "BUILD=$BUILD" appliances/firewall/manifest-small.yaml -o "$img" \
	--quiet >/dev/null || { echo "FAIL: vapp build manifest-small.yaml"; exit 1; }
total=$(( $(stat -c %s "$img/kernel") + $(stat -c %s "$img/initramfs.cpio.gz") ))
echo "small image: $total bytes (kernel $(stat -c %s "$img/kernel"), initramfs $(stat -c %s "$img/initramfs.cpio.gz"))"
[ "$total" -le $((16 * 1024 * 1024)) ] || { echo "FAIL: over the 16 MiB budget"; exit 1; }
grep -q '^memory: 64$' appliances/firewall/manifest-small.yaml ||
	{ echo "FAIL: manifest-small.yaml no longer asks for 64 MiB"; exit 1; }

FW_MANIFEST=appliances/firewall/manifest-small.yaml bash appliances/firewall/tests/integration/firewall_traffic.sh
