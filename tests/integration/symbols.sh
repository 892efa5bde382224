#!/bin/bash
# symbols.sh: every name a static library exports starts with that library's
# prefix. The libraries are linked together into vappd, vapp and the tests,
# so an unprefixed `feed` or `validate` in one collides with another's.
# Names not yet renamed are listed in tests/integration/symbols.known (one
# "LIBRARY NAME" a line); the list only shrinks: a new one fails here.
set -u
cd "${TOP:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
known=tests/integration/symbols.known

prefixes() { # LIBRARY: the prefixes its exports may use (regex)
	case $1 in
	libvapp-util.a) echo 'vapp_' ;;
	libvapp-builder.a) echo 'builder_' ;;
	libvapp-hvconfig.a) echo 'hv_' ;;
	libvapp-image.a) echo 'measure_|cpio_|mfile_|mkey_|oci_' ;;
	libvapp-manifest.a) echo 'manifest_' ;;
	libvapp-policy.a) echo 'policy_' ;;
	libvapp-template.a) echo 'new_|template_' ;;
	libvappd.a) echo 'vappd_' ;;
	# protobuf-c's generated descriptors keep their generated names
	libvrpc-reflect.a) echo 'vrpc_|google__|google_' ;;
	libvrpc*.a) echo 'vrpc_' ;;
	*) echo '.' ;;
	esac
}

found=$(mktemp)
trap 'rm -f "$found"' EXIT
for a in "$BUILD"/lib/*.a; do
	lib=$(basename "$a")
	re="^($(prefixes "$lib"))"
	nm -g --defined-only "$a" | awk 'NF == 3 { print $3 }' | sort -u |
		grep -Ev "$re" | sed "s/^/$lib /"
done | sort >"$found"

new=$(comm -23 "$found" <(sort "$known"))
if [ -n "$new" ]; then
	echo "unprefixed exports (make them static or prefix them):"
	echo "$new"
	exit 1
fi
echo "$(wc -l <"$found") unprefixed exports left, all in $known"
