#!/bin/sh
# deps.sh [check|install]: makes sure the Debian packages listed in
# tools/debian-packages.txt are installed, and that the system users vappd
# runs QEMU as (vapp-qemu) and its broker as (vapp-broker) exist. "install" (the default) installs the missing
# packages with apt-get and makes the user when run as root, and otherwise
# prints the exact command to run and fails.
set -eu

# vappd never runs QEMU or its broker as root: it needs these users
# (vappd --qemu-user, --broker-user).
system_user() { # NAME WHAT
	id "$1" >/dev/null 2>&1 && return 0
	if [ "$mode" = check ] || [ "$(id -u)" -ne 0 ]; then
		echo "deps: no user $1 (vappd runs $2 as it). As root, run:" >&2
		echo "  useradd --system --no-create-home --shell /usr/sbin/nologin $1" >&2
		[ "$mode" = check ] && return 1
		return 0
	fi
	echo "deps: adding the system user $1" >&2
	useradd --system --no-create-home --shell /usr/sbin/nologin "$1"
}
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
system_user vapp-qemu QEMU
system_user vapp-broker 'its broker'
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
