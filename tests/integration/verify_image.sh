#!/bin/bash
# verify_image.sh - an image folder's measurement and signature, end to end:
#   - build an image (vapp build of examples/hello when both exist, else a
#     hand-made folder), sign it with a fresh vendor key, vapp verify it;
#   - run the recipe in image/README.md (the block between the recipe
#     markers, as it is) and compare its chain with vapp's;
#   - sign a copy with openssl alone (recipe + openssl pkeyutl) and see vapp
#     verify accept it: the format is what the README says, not what our code
#     happens to do;
#   - flip one byte of each measured part (kernel, initramfs, the
#     three cmdline.* files, manifest.yaml),
#     measurement, measurement.sig in a copy and see verify fail naming the
#     part (and the recipe fail too);
#   - a wrong key, and no key (integrity only, said so).
# Needs sha256sum, xxd, openssl; skips without them.
set -u
cd "${TOP:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
top=$PWD
vapp=$top/$BUILD/bin/vapp
fail() { echo "FAIL: $*"; exit 1; }

for t in sha256sum xxd openssl cmp; do
	command -v $t >/dev/null || { echo "$t is not installed"; exit 77; }
done
[ -x "$vapp" ] || fail "build $vapp first (make)"

dir=$(mktemp -d /tmp/vapp-verify.XXXXXX)
trap 'rm -rf "$dir"' EXIT
img=$dir/img

# The image. vapp build needs the kernel package in the cache, which it
# fetches (bounded by its own timeouts); a hand-made folder needs nothing.
if "$vapp" build --help >/dev/null 2>&1 && [ -f examples/hello/manifest.yaml ] &&
	[ "${VERIFY_HANDMADE:-0}" != 1 ]; then
	echo "building examples/hello with vapp build"
	"$vapp" build examples/hello/manifest.yaml -o "$img" >"$dir/build.log" 2>&1 ||
		{ tail -n 30 "$dir/build.log"; fail "vapp build"; }
	tail -n 20 "$dir/build.log"
else
	echo "vapp build is not there yet: a hand-made image folder"
	mkdir -p "$img/root/etc"
	head -c 1048576 /dev/urandom >"$img/kernel"
	echo hello >"$img/root/etc/hello"
	(cd "$img/root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -n >"$img/initramfs"
	rm -rf "$img/root"
	printf 'console=ttyS0 panic=-1 quiet tsc_early_khz=2000000' >"$img/cmdline.tcg"
	printf 'console=ttyS0 panic=-1 quiet' >"$img/cmdline.kvm"
	printf 'console=hvc0 panic=-1 quiet' >"$img/cmdline.xen"
	printf 'name: hello\n' >"$img/manifest.yaml"
	: >"$img/services.desc"
fi
parts="kernel initramfs cmdline.tcg cmdline.kvm cmdline.xen manifest.yaml services.desc"
for f in $parts; do
	[ -s "$img/$f" ] || fail "the image has no $f"
done

# A vendor key, and the image signed with it.
"$vapp" keygen "$dir/vendor.pem" || fail "keygen"
[ "$(stat -c %a "$dir/vendor.pem")" = 600 ] || fail "the private key is not mode 0600"
"$vapp" keygen "$dir/vendor.pem" 2>/dev/null && fail "keygen overwrote a key"
"$vapp" keygen "$dir/other.pem" >/dev/null || fail "keygen other"
"$vapp" sign --key "$dir/vendor.pem" "$img" || fail "sign"
cmp -s "$dir/vendor.pub" "$img/signer.pub" || fail "signer.pub is not the vendor's public key"

"$vapp" verify --key "$dir/vendor.pub" "$img" >"$dir/out" 2>&1 || { cat "$dir/out"; fail "verify of a good image"; }
cat "$dir/out"
chain=$(awk '$1 == "chain" { print $2 }' "$dir/out")
[[ $chain =~ ^[0-9a-f]{64}$ ]] || fail "vapp verify printed no chain"
grep -q "signature: good, by trusted key" "$dir/out" || fail "verify did not name the trusted key"

# The README's recipe, verbatim.
awk '/<!-- recipe:begin -->/ { f = 1; next } /<!-- recipe:end -->/ { f = 0 } f && !/^```/' \
	image/README.md >"$dir/recipe.sh"
grep -q 'xxd -r -p' "$dir/recipe.sh" || fail "no recipe between the markers in image/README.md"
(cd "$img" && sh "$dir/recipe.sh") >"$dir/recipe.out" 2>&1 || { cat "$dir/recipe.out"; fail "the README recipe rejects a good image"; }
cat "$dir/recipe.out"
grep -q "chain $chain\$" "$dir/recipe.out" || fail "the README recipe's chain differs from vapp's ($chain)"
grep -q "Signature Verified Successfully" "$dir/recipe.out" || fail "openssl did not verify the signature"
# With the vendor key instead of signer.pub, as the README suggests.
(cd "$img" && sed "s|^key=signer.pub\$|key=$dir/vendor.pub|" "$dir/recipe.sh" | sh) >/dev/null 2>&1 ||
	fail "the recipe with the vendor key"

# Signed by openssl alone: vapp verify must accept it.
cp -a "$img" "$dir/ossl"
(cd "$dir/ossl" && rm -f measurement measurement.sig signer.pub &&
	h() { sha256sum "$1" | cut -d' ' -f1; } &&
	pcr=$(printf '%064d' 0) &&
	{ echo vapp-measurement-v3 &&
	for p in $parts; do
		pcr=$(printf '%s%s' "$pcr" "$(h $p)" | xxd -r -p | sha256sum | cut -d' ' -f1)
		echo "$p $(h $p)"
	done && echo "chain $pcr"; } >measurement &&
	openssl pkeyutl -sign -rawin -inkey "$dir/other.pem" -in measurement -out measurement.sig &&
	openssl pkey -in "$dir/other.pem" -pubout -out signer.pub) || fail "signing with openssl"
cmp -s "$img/measurement" "$dir/ossl/measurement" || fail "shell and vapp write different measurement files"
"$vapp" verify -q --key "$dir/other.pub" "$dir/ossl" || fail "vapp verify rejects an image signed by openssl"

# Flip one byte of each part in a copy: verify must fail and name it, and
# the README recipe must fail too.
flip() { # FILE OFFSET: xor the byte at OFFSET with 1
	local b
	b=$(xxd -s "$2" -l 1 -p "$1")
	printf '%08x: %02x' "$2" $((0x$b ^ 1)) | xxd -r - "$1"
}
check_flip() { # FILE OFFSET EXPECTED-TEXT
	local copy=$dir/flip
	rm -rf "$copy"
	cp -a "$img" "$copy"
	flip "$copy/$1" "$2"
	cmp -s "$img/$1" "$copy/$1" && fail "flip did not change $1"
	if "$vapp" verify --key "$dir/vendor.pub" "$copy" >"$dir/out" 2>&1; then
		cat "$dir/out"
		fail "verify accepted a flipped byte in $1"
	fi
	echo "--- $1[$2] flipped:"
	cat "$dir/out"
	grep -qF -- "$3" "$dir/out" || fail "verify did not say '$3' for a flipped byte in $1"
	grep -q "NOT verified" "$dir/out" || fail "no verdict"
	(cd "$copy" && sh "$dir/recipe.sh") >/dev/null 2>&1 && fail "the README recipe accepted a flipped byte in $1"
	return 0
}
size=$(stat -c %s "$img/kernel")
check_flip kernel $((size / 2)) "kernel: sha256 mismatch (measurement says"
size=$(stat -c %s "$img/initramfs")
check_flip initramfs $((size - 1)) "initramfs: sha256 mismatch"
check_flip cmdline.tcg 0 "cmdline.tcg: sha256 mismatch"
check_flip cmdline.kvm 3 "cmdline.kvm: sha256 mismatch"
check_flip cmdline.xen 1 "cmdline.xen: sha256 mismatch"
check_flip manifest.yaml 0 "manifest.yaml: sha256 mismatch"
# Offset 30: a hex digit of the kernel line (after "vapp-measurement-v3\nkernel ").
check_flip measurement 30 "measurement or measurement.sig was altered"
check_flip measurement.sig 10 "measurement.sig: does not verify"

# The wrong key: the image is intact but not trusted.
"$vapp" verify --key "$dir/other.pub" "$img" >"$dir/out" 2>&1 && fail "verify trusted the wrong key"
grep -q "which is none of the 1 trusted keys" "$dir/out" || { cat "$dir/out"; fail "wrong key not named"; }
# Two keys, one right.
"$vapp" verify -q --key "$dir/other.pub" --key "$dir/vendor.pub" "$img" || fail "verify with two keys, one right"
# No key: integrity only, and said so.
"$vapp" verify "$img" >"$dir/out" 2>&1 || fail "verify with signer.pub"
grep -q "integrity only, not trust" "$dir/out" || fail "no-key verify did not say it proves integrity only"
# Usage errors are status 2.
"$vapp" verify >/dev/null 2>&1; [ $? = 2 ] || fail "verify without a folder is not a usage error"
echo "PASS: chain $chain"
