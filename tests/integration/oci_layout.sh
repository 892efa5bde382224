#!/bin/bash
# oci_layout.sh - an appliance image as an OCI artefact, with the real tools
# a fleet already runs (Debian's skopeo, umoci and docker-registry):
#   - two builds with `vapp build --oci`, and `vapp oci export` twice:
#     byte-identical layouts;
#   - skopeo copies it between layouts (manifest digest unchanged), to a
#     dir: and back, and through a registry on 127.0.0.1 and back; umoci
#     lists its tags; skopeo inspect --raw and --config --raw show the
#     artifact type and the measurement; `vapp oci import` of each result
#     gives back the image folder byte for byte, and it verifies;
#   - an import whose image is not signed by the --key given leaves
#     nothing; a changed blob is refused naming the blob and the file;
#   - vappd runs `vapp run oci:LAYOUT:TAG` (a relative LAYOUT, made
#     absolute by the CLI), hello answers through its channel, and a
#     layout with a changed blob is refused before anything boots.
# Bounded by $OCI_TEST_LIMIT seconds (default 240); registry, vappd and
# QEMU never outlive it.
set -u
cd "${TOP:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
limit=${OCI_TEST_LIMIT:-240}
start=$(date +%s)
top=$PWD
vapp=$top/$BUILD/bin/vapp
vappd=$top/$BUILD/bin/vappd
client=$top/$BUILD/bin/hello-client
. tests/lib/vappd.sh

left() { local l=$(( limit - ($(date +%s) - start) )); echo $(( l > 0 ? l : 1 )); }
for t in skopeo umoci docker-registry qemu-system-x86_64; do
	command -v "$t" >/dev/null || { echo "$t is not installed (tools/debian-packages.txt)"; exit 77; }
done
for f in "$vapp" "$vappd" "$client"; do
	[ -x "$f" ] || { echo "FAIL: build $f first (make)"; exit 1; }
done
[ -f "$BUILD/kernels/small/vmlinuz" ] || { echo "FAIL: make kernel first"; exit 1; }

work=$(mktemp -d /tmp/vapp-oci.XXXXXX)
chmod 711 "$work" # vappd runs QEMU as vapp-qemu, who must reach the run folder
REG_PID= VAPPD_PID=
cleanup() {
	[ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null
	vappd_teardown "$VAPPD_PID" "$work/qemu.pids"
	[ -n "${OCI_TEST_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	[ -f "$work/vappd.log" ] && { echo "--- vappd log ---"; tail -n 20 "$work/vappd.log"; }
	exit 1
}
same_image() { # A B: the same files, byte for byte
	diff -r "$1" "$2" >/dev/null || fail "$2 differs from $1: $(diff -rq "$1" "$2" | head -3)"
}
manifest_digest() { # LAYOUT TAG
	python3 -c 'import json,sys
for m in json.load(open(sys.argv[1] + "/index.json"))["manifests"]:
    if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == sys.argv[2]:
        print(m["digest"])' "$1" "$2"
}

img=$work/hello
timeout "$(left)" "$vapp" build -D "BUILD=$BUILD" examples/hello/manifest-small.yaml -o "$img" \
	--oci "$work/built:1.0" >"$work/build.log" 2>&1 || { cat "$work/build.log"; fail "vapp build"; }
timeout "$(left)" "$vapp" build -D "BUILD=$BUILD" examples/hello/manifest-small.yaml -o "$work/again" \
	--oci "$work/built2:1.0" >"$work/build.log" 2>&1 || { cat "$work/build.log"; fail "vapp build (again)"; }
chain=$(awk '$1 == "chain" { print $2 }' "$img/measurement")

# 1. Deterministic export; the default tag.
cd "$work"
"$vapp" oci export hello lay:1.0 >/dev/null 2>&1 || fail "vapp oci export"
"$vapp" oci export hello lay2:1.0 >/dev/null 2>&1 || fail "vapp oci export (again)"
diff -r lay lay2 >/dev/null || fail "two exports of one image differ: $(diff -rq lay lay2 | head -3)"
diff -r built built2 >/dev/null || fail "two builds gave different layouts: $(diff -rq built built2 | head -3)"
diff -r lay built >/dev/null || fail "vapp build --oci differs from vapp oci export: $(diff -rq lay built | head -3)"
"$vapp" oci export hello lay >/dev/null 2>&1 || fail "vapp oci export without a tag"
[ -n "$(manifest_digest lay latest)" ] || fail "no 'latest' tag without one given"
[ "$(manifest_digest lay latest)" = "$(manifest_digest lay 1.0)" ] || fail "latest and 1.0 differ"
echo "export: two vapp build --oci and two vapp oci export byte-identical, manifest $(manifest_digest lay 1.0)"

# 2. skopeo between layouts, umoci, skopeo inspect.
skopeo copy -q oci:lay:1.0 oci:copied:v1 >/dev/null 2>"$work/err" || fail "skopeo copy oci: $(cat "$work/err")"
[ "$(manifest_digest copied v1)" = "$(manifest_digest lay 1.0)" ] ||
	fail "skopeo changed the manifest: $(manifest_digest copied v1)"
skopeo copy -q oci:copied:v1 oci:lay:back >/dev/null 2>"$work/err" || fail "skopeo copy back: $(cat "$work/err")"
tags=$(umoci ls --layout lay | sort | tr '\n' ' ')
[ "$tags" = "1.0 back latest " ] || fail "umoci ls lists '$tags'"
skopeo inspect --raw oci:copied:v1 | grep -q '"artifactType":"application/vnd.vapp.appliance.v1"' ||
	fail "skopeo inspect --raw: no artifact type"
skopeo inspect --config --raw oci:copied:v1 | grep -q "\"measurement\":\"$chain\"" ||
	fail "skopeo inspect --config --raw: not the measurement $chain"
"$vapp" oci import copied:v1 from-copy >/dev/null 2>"$work/err" || fail "import of skopeo's copy: $(cat "$work/err")"
same_image hello from-copy
echo "skopeo copy oci->oci->oci: digest kept; umoci ls: $tags; imported back identical"

# 3. skopeo to a dir: and back.
skopeo copy -q oci:lay:1.0 dir:"$work/d" >/dev/null 2>"$work/err" || fail "skopeo copy to dir: $(cat "$work/err")"
skopeo copy -q dir:"$work/d" oci:from-dir:x >/dev/null 2>"$work/err" || fail "skopeo copy from dir: $(cat "$work/err")"
"$vapp" oci import from-dir:x via-dir >/dev/null 2>"$work/err" || fail "import via dir: $(cat "$work/err")"
same_image hello via-dir
echo "skopeo copy oci->dir->oci: imported back identical"

# 4. A registry on 127.0.0.1, as a fleet's would be.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/registry.yml" <<EOT
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: 127.0.0.1:$port
EOT
setpriv --pdeathsig KILL -- docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
REG_PID=$!
for _ in $(seq 50); do
	python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null && break
	sleep 0.1
done
reg=127.0.0.1:$port/vapp/hello
skopeo copy -q --dest-tls-verify=false oci:lay:1.0 "docker://$reg:1.0" >/dev/null 2>"$work/err" ||
	fail "push to the registry: $(cat "$work/err"; tail -3 "$work/registry.log")"
skopeo inspect --tls-verify=false --raw "docker://$reg:1.0" | grep -q 'application/vnd.vapp.appliance.v1' ||
	fail "the registry's manifest has no artifact type"
skopeo copy -q --src-tls-verify=false "docker://$reg:1.0" oci:pulled:1.0 >/dev/null 2>"$work/err" ||
	fail "pull from the registry: $(cat "$work/err")"
[ "$(manifest_digest pulled 1.0)" = "$(manifest_digest lay 1.0)" ] || fail "the registry changed the manifest"
"$vapp" oci import --key "$top/build/cache/keys/dev.pub" pulled:1.0 from-registry >/dev/null 2>"$work/err" ||
	fail "import of the pulled layout: $(cat "$work/err")"
same_image hello from-registry
kill "$REG_PID"; REG_PID=
echo "registry at 127.0.0.1:$port: pushed, pulled, imported back identical, verified with the key"

# 5. Refusals: a key that did not sign it; a changed blob.
"$vapp" keygen other.pem >/dev/null 2>&1 || fail "vapp keygen"
out=$("$vapp" oci import --key other.pub lay:1.0 untrusted 2>&1) && fail "imported with a key that did not sign it"
grep -q 'NOT verified' <<<"$out" || fail "the untrusted import says: $out"
[ -e untrusted ] && fail "an unverified import left untrusted/"
ls -d untrusted.partial-* >/dev/null 2>&1 && fail "an unverified import left its partial folder"
cp -a lay bad
kblob=$(python3 -c 'import json,sys
m=json.load(open(sys.argv[1]))
print([l["digest"][7:] for l in m["layers"] if l["annotations"]["org.opencontainers.image.title"]=="kernel"][0])' \
	"bad/blobs/sha256/$(manifest_digest bad 1.0 | cut -c8-)")
chmod u+w "bad/blobs/sha256/$kblob"
printf '\x90' | dd of="bad/blobs/sha256/$kblob" bs=1 seek=4096 conv=notrunc 2>/dev/null
out=$("$vapp" oci import bad:1.0 tampered 2>&1) && fail "a changed kernel blob was imported"
grep -q "blob sha256:$kblob (kernel): digest mismatch" <<<"$out" || fail "the refusal says: $out"
[ -e tampered ] && fail "a refused import left tampered/"
echo "refused: another key ('NOT verified', nothing left), a changed blob (named: kernel)"
"$vapp" oci --help | grep -q 'vapp oci import' || fail "vapp oci --help"
"$vapp" oci >/dev/null 2>&1; [ $? = 2 ] || fail "vapp oci without an action: not a usage error"
"$vapp" oci export hello 'lay:no tag' >/dev/null 2>&1; [ $? = 2 ] || fail "a bad tag: not a usage error"
"$vapp" oci import lay:1.0 hello >/dev/null 2>&1 && fail "import over an existing folder"
same_image from-copy hello # untouched

# 6. vappd runs a layout.
"$vappd" --foreground --socket "$work/vappd.sock" --run-dir "$work/run" \
	--state-dir "$work/state" --trust-image-key --accel tcg --release-channel \
	--boot-timeout 90 >"$work/vappd.log" 2>&1 &
VAPPD_PID=$!
export VAPPD_SOCKET=$work/vappd.sock
for _ in $(seq 50); do [ -S "$VAPPD_SOCKET" ] && break; sleep 0.1; done
[ -S "$VAPPD_SOCKET" ] || fail "vappd did not make its socket"
out=$(timeout "$(left)" "$vapp" run oci:bad:1.0 2>&1) && fail "vappd ran a layout with a changed blob"
grep -q "(kernel): digest mismatch" <<<"$out" || fail "vappd's refusal says: $out"
[ -z "$(vappd_qemu_pid hello)" ] || fail "a refused layout left an appliance"
out=$(timeout "$(left)" "$vapp" run oci:pulled:1.0 2>&1) || fail "vapp run oci:pulled:1.0: $out"
pid=$(vappd_qemu_pid hello)
[ -n "$pid" ] && [ "$pid" != - ] && echo "$pid" >>"$work/qemu.pids"
[ "$("$vapp" ps | awk '$1 == "hello" { print $2 }')" = running ] || fail "not running: $("$vapp" ps)"
for f in qemu.args xl.cfg libvirt.xml; do
	[ -e "$work/run/hello/image/$f" ] && fail "vappd took the unmeasured $f out of the layout"
done
out=$(timeout 20 "$client" "serial:$work/run/hello/vapp.rpc.sock" oci 2>&1) || fail "call: $out"
case $out in "Hello, oci!"*) ;; *) fail "hello answered: $out" ;; esac
"$vapp" ps --long | grep -qF "oci:$work/pulled:1.0" || fail "ps --long does not name the layout: $("$vapp" ps --long)"
timeout 40 "$vapp" stop hello >/dev/null 2>&1 || fail "vapp stop"
echo "vapp run oci:pulled:1.0: verified, booted, hello answered '$out'"
echo "oci_layout: all checks passed in $(( $(date +%s) - start )) s"
