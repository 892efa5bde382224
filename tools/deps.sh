#!/bin/sh
# deps.sh [check|install]: makes sure the Debian packages listed in
# tools/debian-packages.txt are installed. "install" (the default) installs the
# missing ones with apt-get when run as root, and otherwise prints the exact
# command to run and fails.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
list="$here/debian-packages.txt"
mode=${1:-install}

missing=""
for pkg in $(sed 's/#.*//' "$list"); do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	case "$status" in
	*" installed") ;;
	*) missing="$missing $pkg" ;;
	esac
done
[ -z "$missing" ] && exit 0

cmd="apt-get install -y --no-install-recommends$missing"
if [ "$mode" = check ]; then
	echo "deps: missing Debian packages:$missing" >&2
	exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages. As root, run:" >&2
	echo "  apt-get update && $cmd" >&2
	exit 1
fi
echo "deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# Update the lists only when an install without it fails (stale or empty lists).
if ! apt-get install -y -q --no-install-recommends $missing >&2; then
	apt-get update -q >&2
	apt-get install -y -q --no-install-recommends $missing >&2
fi
