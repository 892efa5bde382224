#!/bin/sh
# fetch-source.sh CACHE PKG...: prints the directory of the unpacked Debian
# source of each binary package PKG, at the version installed here, fetching
# and unpacking it under CACHE (build/cache) the first time.
#
# Why: the Windows build of libvrpc's client half needs the protobuf-c runtime
# and json-c compiled with mingw-w64, and Debian ships neither for mingw. Their
# Debian sources, at the exact version of the installed -dev packages, match
# the headers and protoc-c that the Linux build uses.
#
# The deb-src lines are made from the system's own deb lines (same mirrors,
# same keyrings) and used through a private apt state under CACHE: the
# system's apt configuration is left as it is. Sources are never committed.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 CACHE PKG..." >&2; exit 2; }
cache=$(mkdir -p "$1" && cd "$1" && pwd)
shift
apt=$cache/apt
src=$cache/src

# One at a time: a parallel make may ask for two packages at once, and apt's
# private state below is not meant to be shared.
exec 9>"$cache/.fetch-source.lock"
flock 9

# deb-src twins of every deb source the system uses, one-line and deb822 alike.
make_sources() {
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
	: >"$apt/sources.list.tmp"
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' "$f" >>"$apt/sources.list.tmp"
	done
	: >"$apt/sources.sources.tmp"
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		# Keep the stanzas whose Types has "deb"; rewrite their Types line.
		awk 'BEGIN { RS = ""; ORS = "\n\n" }
		     /(^|\n)Types:[^\n]*[[:space:]]deb([[:space:]]|$)/ && !/(^|\n)Enabled:[[:space:]]*no/ {
			sub(/(^|\n)Types:[^\n]*/, "\nTypes: deb-src"); print }' "$f" >>"$apt/sources.sources.tmp"
	done
	mkdir -p "$apt/sources.list.d"
	mv "$apt/sources.list.tmp" "$apt/sources.list"
	mv "$apt/sources.sources.tmp" "$apt/sources.list.d/src.sources"
}

aptget() {
	apt-get -q -o Dir::Etc::SourceList="$apt/sources.list" \
		-o Dir::Etc::SourceParts="$apt/sources.list.d" \
		-o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache" \
		-o APT::Sandbox::User=root "$@"
}

for pkg in "$@"; do
	info=$(dpkg-query -W -f='${source:Package} ${source:Version}' "$pkg") || {
		echo "fetch-source: $pkg is not installed (tools/debian-packages.txt)" >&2
		exit 1
	}
	name=${info% *} version=${info#* }
	dir=$src/$name-$version
	if [ ! -f "$dir/.unpacked" ]; then
		[ -f "$apt/sources.list" ] || make_sources
		ls "$apt/lists/" | grep -q Sources || aptget update >&2
		mkdir -p "$src/dl"
		if ! (cd "$src/dl" && aptget source --download-only "$name=$version") >&2; then
			# Stale or missing lists: update once, then try again.
			aptget update >&2
			(cd "$src/dl" && aptget source --download-only "$name=$version") >&2
		fi
		rm -rf "$dir"
		# apt checked every file against the signed Sources index.
		dpkg-source --no-check -x "$src/dl/${name}_${version#*:}.dsc" "$dir" >&2
		touch "$dir/.unpacked"
	fi
	echo "$dir"
done
