#!/bin/bash
# libvirt_validate.sh: every libvirt domain vapp generates passes libvirt's
# own schema (virt-xml-validate, Debian libvirt-clients), for microvm and q35
# alike: the golden files of tests/hvconfig/ (test_hvconfig checks that they
# are exactly what the generator writes) and any image folder under
# $BUILD/appliances/. Placeholders are replaced first, as the runtime does:
# libvirt's schema wants absolute paths and a known domain type.
# Exit 0 pass, 77 skip (no virt-xml-validate and none can be installed).
set -u
cd "${TOP:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}

if ! command -v virt-xml-validate >/dev/null; then
	if [ "$(id -u)" -eq 0 ]; then
		DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -q \
			--no-install-recommends libvirt-clients >/dev/null 2>&1
	fi
	command -v virt-xml-validate >/dev/null ||
		{ echo "virt-xml-validate not installed (Debian libvirt-clients)"; exit 77; }
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The runtime's substitution: kvm, then qemu (TCG) as the domain type.
expand() { # FILE TYPE > expanded
	sed -e 's|\${RUN_DIR}|/run/vapp/appliance|g' \
		-e 's|\${IMAGE_DIR}|/var/lib/vapp/images/appliance|g' \
		-e "s|\\\${VIRT_TYPE}|$2|g" \
		-e 's|\${TAP_\([A-Za-z0-9_.-]*\)}|vt-\1|g' "$1"
}

files=(tests/hvconfig/*.libvirt.xml)
for f in "$BUILD"/appliances/*/libvirt.xml; do
	[ -e "$f" ] && files+=("$f")
done
[ -e "${files[0]}" ] || { echo "FAIL: no libvirt.xml to validate"; exit 1; }

fail=0 n=0 machines=""
for f in "${files[@]}"; do
	for type in kvm qemu; do
		out=$work/$(echo "$f" | tr / _).$type.xml
		expand "$f" "$type" >"$out"
		if grep -q '\${' "$out"; then
			echo "FAIL: $f: a placeholder the runtime does not know: $(grep -o '\${[^}]*}' "$out" | head -1)"
			fail=1
		fi
		if ! virt-xml-validate "$out" domain >"$work/log" 2>&1; then
			echo "FAIL: $f ($type):"; cat "$work/log"; fail=1
		fi
		n=$((n + 1))
	done
	machines="$machines $(grep -o "machine='[a-z0-9]*'" "$f")"
done
echo "validated $n documents from ${#files[@]} files:" \
	"$(echo "$machines" | grep -o microvm | wc -l) microvm," \
	"$(echo "$machines" | grep -o q35 | wc -l) q35"

# Both machine types must have been covered.
for m in microvm q35; do
	echo "$machines" | grep -q "machine='$m'" || { echo "FAIL: no $m domain validated"; fail=1; }
done

# The validator must be able to say no: the same document with a device
# libvirt does not know, or without its <name>, fails.
sample=$work/$(echo "${files[0]}" | tr / _).kvm.xml
sed 's|<devices>|<devices><bogus/>|' "$sample" >"$work/bad1.xml"
sed '/<name>/d' "$sample" >"$work/bad2.xml"
for bad in "$work/bad1.xml" "$work/bad2.xml"; do
	if virt-xml-validate "$bad" domain >/dev/null 2>&1; then
		echo "FAIL: virt-xml-validate accepted a broken domain ($bad)"; fail=1
	fi
done
exit $fail
