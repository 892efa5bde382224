#!/bin/bash
# sdk_guide.sh - sdk/GUIDE.md, followed literally: every ```sh test block
# is taken out of the guide in order and run as one bash script (set -e),
# starting in the source tree with HOME a fresh folder, so the guide cannot
# rot. The guide's own steps install the SDK, scaffold an appliance, write
# its handlers and host test, sign, build, boot it under QEMU (TCG) and
# call it. The only help given: the kernel cache (~/.cache/vapp) is the
# tree's, so nothing is downloaded twice.
set -u
cd "${TOP:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
[ "${SAN:-0}" = 1 ] && { echo "the guide is followed in the normal build"; exit 77; }
command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 is not installed"; exit 77; }
command -v protoc >/dev/null || { echo "protoc is not installed"; exit 77; }
home=$(mktemp -d /tmp/vapp-guide.XXXXXX)
trap 'rm -rf "$home"' EXIT
mkdir -p "$home/.cache" "$BUILD/cache"
ln -s "$PWD/$BUILD/cache" "$home/.cache/vapp"

awk '/^```sh test$/ { on = 1; n++; printf "echo \"### guide block %d\"\n", n; next }
     /^```/ && on { on = 0; next }
     on' sdk/GUIDE.md >"$home/guide.sh"
blocks=$(grep -c '^```sh test$' sdk/GUIDE.md)
[ "$blocks" -ge 8 ] || { echo "FAIL: only $blocks test blocks in sdk/GUIDE.md"; exit 1; }
echo "running $blocks blocks of sdk/GUIDE.md"
start=$(date +%s)
HOME=$home BOOT_TIMEOUT=150 timeout -k 5 400 bash -e -o pipefail "$home/guide.sh"
rc=$?
[ $rc -eq 0 ] || { echo "FAIL: the guide's steps failed (exit $rc): the last block named above"; exit 1; }
echo "sdk_guide: all $blocks blocks ran in $(( $(date +%s) - start )) s"
