#!/bin/bash
# sdk_new.sh - vapp new, end to end, as a vendor uses it:
#   1. scaffolds an appliance from tests/sdk/complex.proto (two services,
#      nested messages, enums, repeated, oneof, bytes and map fields, a
#      streaming method, names protoc-c mangles), builds it with warnings as
#      errors against this source tree, runs its host test;
#   2. boots it under QEMU (TCG) with its test.sh, and every method of the
#      first service answers UNIMPLEMENTED to `vapp call` (the generated
#      client checks the same);
#   3. fills one handler in (GetDevice: nested message, enum, map, oneof,
#      bytes), rebuilds, boots again: that method answers correctly;
#   4. runs vapp new again: the edited service.c is kept (its fresh version
#      beside it), an untouched file that vapp new had written differently
#      is regenerated, the others are reported the same; --service picks the
#      second service; a .proto that does not compile is refused.
set -u
cd "${TOP:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
top=$PWD
vapp=$top/$BUILD/bin/vapp
[ "${SAN:-0}" = 1 ] && { echo "vapp new is tested in the normal build"; exit 77; }
command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 is not installed"; exit 77; }
command -v protoc >/dev/null || { echo "protoc is not installed"; exit 77; }
work=$(mktemp -d /tmp/vapp-sdk-new.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
start=$(date +%s)
export VAPP_CACHE=$top/$BUILD/cache BOOT_TIMEOUT=120
proto=$top/tests/sdk/complex.proto
svc=vapp.test.complex_v1.DeviceManager

cd "$work"
"$vapp" new complex --proto "$proto" >new1.log || { cat new1.log; fail "vapp new"; }
cat new1.log
grep -q "serving $svc (4 methods)" new1.log || fail "not the first service, or not its 4 methods"
d=$work/complex
grep -q '"WatchEvents",' "$d/service.c" || fail "the streaming method is not named to the server"
[ "$(grep -c '^	"[A-Za-z]*",$' "$d/service.c")" = 1 ] || fail "only WatchEvents streams"
[ "$(grep -c 'VRPC_UNIMPLEMENTED' "$d/service.c")" = 4 ] || fail "not one UNIMPLEMENTED handler per method"

make -C "$d" WERROR=1 all build/test_service >make1.log 2>&1 || { cat make1.log; fail "the scaffold does not build with -Werror"; }
grep -q -- '-Werror' make1.log || fail "not built with -Werror"
make -s -C "$d" check >check.log 2>&1 || { cat check.log; fail "make check"; }
grep -q 'PASSED.*4 test' check.log || { cat check.log; fail "the host test did not run 4 tests"; }
echo "built with -Werror; host test: $(grep PASSED check.log)"

# Every method of the first service, through vapp call while the VM is up.
cat >"$work/call_all.sh" <<CALLS
set -e
for m in ListDevices GetDevice WatchEvents ResetUSBHub; do
	if "$vapp" call --proto "$d/complex.proto" "\$VAPP_ADDR" "$svc.\$m" '{}' >"$work/\$m.out" 2>&1; then
		echo "\$m: answered OK, expected UNIMPLEMENTED"; exit 1
	fi
	grep -q UNIMPLEMENTED "$work/\$m.out" || { echo "\$m: \$(cat "$work/\$m.out")"; exit 1; }
	echo "vapp call \$m: \$(cat "$work/\$m.out")"
done
CALLS
"$d/test.sh" bash "$work/call_all.sh" >boot1.log 2>&1
rc=$?
grep -v '^  [A-Z][A-Z]* ' boot1.log | tail -n 25
[ $rc -eq 0 ] || fail "boot 1: test.sh or the calls failed"
[ "$(grep -c 'complex-client: UNIMPLEMENTED' boot1.log)" = 4 ] ||
	fail "boot 1: the generated client did not see 4 UNIMPLEMENTED"
[ "$(grep -c '^vapp call .*UNIMPLEMENTED' boot1.log)" = 4 ] || fail "boot 1: vapp call did not see 4 UNIMPLEMENTED"

# The vendor writes GetDevice: its body replaces the generated one.
cat >"$work/get_device.c" <<'EOC'
	static Vapp__Test__ComplexV1__Device__Port port = VAPP__TEST__COMPLEX_V1__DEVICE__PORT__INIT;
	static Vapp__Test__ComplexV1__Device__Port *ports[] = { &port };
	static Vapp__Test__ComplexV1__Device__LabelsEntry label =
		VAPP__TEST__COMPLEX_V1__DEVICE__LABELS_ENTRY__INIT;
	static Vapp__Test__ComplexV1__Device__LabelsEntry *labels[] = { &label };
	static uint8_t blob[] = { 0xde, 0xad, 0xbe, 0xef };
	Vapp__Test__ComplexV1__Device out = VAPP__TEST__COMPLEX_V1__DEVICE__INIT;

	if (!in->name[0]) {
		vrpc_call_set_status(vrpc_call_of(data), VRPC_INVALID_ARGUMENT, "name: empty");
		closure(NULL, data);
		return;
	}
	port.kind = VAPP__TEST__COMPLEX_V1__DEVICE__PORT__KIND__KIND_USB;
	port.number = 3;
	label.key = "room";
	label.value = "lab";
	out.name = in->name;
	out.n_ports = 1;
	out.ports = ports;
	out.n_labels = 1;
	out.labels = labels;
	out.serial_blob.len = sizeof(blob);
	out.serial_blob.data = blob;
	out.address_case = VAPP__TEST__COMPLEX_V1__DEVICE__ADDRESS_PATH;
	out.path = "/dev/bus/usb/001/003";
	out.level = VAPP__TEST__COMPLEX_V1__LEVEL__LEVEL_HIGH;
	out.default_ = 1;
	closure(&out, data);
}
EOC
GET_DEVICE=$work/get_device.c perl -0pi -e 'BEGIN { local $/; open F, $ENV{GET_DEVICE}; $body = <F> }
	s/(static void handle_get_device\(.*?\n\{\n).*?\n\}\n/$1$body/s' "$d/service.c"
grep -q '0xde, 0xad' "$d/service.c" || fail "the test's edit of service.c did not apply"
make -C "$d" WERROR=1 >make2.log 2>&1 || { cat make2.log; fail "the filled-in handler does not build"; }

"$d/test.sh" sh -c "'$vapp' call --proto '$d/complex.proto' \"\$VAPP_ADDR\" $svc.GetDevice '{\"name\": \"reader0\"}'" >boot2.log 2>&1
rc=$?
grep -v '^  [A-Z][A-Z]* ' boot2.log | tail -n 12
[ $rc -eq 0 ] || fail "boot 2: test.sh or the call failed"
# vapp call prints the reply indented: blanks out, then look for each part.
reply=$(sed -n '/^== sh/,/^== done/p' boot2.log | sed '1d;$d' | tr -d ' \t\n')
for want in '"name":"reader0"' '"kind":"KIND_USB"' '"number":3' '"serialBlob":"3q2+7w=="' \
	'"labels":{"room":"lab"}' '"path":"/dev/bus/usb/001/003"' '"level":"LEVEL_HIGH"' '"default":true'; do
	case $reply in *"$want"*) ;; *) fail "boot 2: GetDevice's reply lacks $want: $reply" ;; esac
done
grep -q 'GetDevice .*INVALID_ARGUMENT: name: empty' boot2.log ||
	fail "boot 2: GetDevice with an empty name should be INVALID_ARGUMENT"
grep -q 'ListDevices .*UNIMPLEMENTED' boot2.log || fail "boot 2: ListDevices should still be UNIMPLEMENTED"
echo "boot 2: GetDevice answers $reply"

# vapp new again: the edit stays.
edited=$(sha256sum <"$d/service.c")
# README.md as an older vapp new might have written it: untouched since, so regenerated.
echo "old text" >"$d/README.md"
sed -i "s/^[0-9a-f]*  README.md\$/$(sha256sum <"$d/README.md" | cut -d' ' -f1)  README.md/" "$d/.vapp-new"
"$vapp" new complex --proto "$proto" >new2.log || { cat new2.log; fail "vapp new, second run"; }
cat new2.log
[ "$(sha256sum <"$d/service.c")" = "$edited" ] || fail "vapp new overwrote the edited service.c"
grep -q 'kept .*complex/service.c' new2.log || fail "vapp new did not say it kept service.c"
grep -q 'VRPC_UNIMPLEMENTED' "$d/service.c.vapp-new" || fail "no fresh service.c.vapp-new"
grep -q 'updated .*complex/README.md' new2.log || fail "the untouched README.md was not regenerated"
grep -q 'old text' "$d/README.md" && fail "README.md still old"
grep -q 'same .*complex/server.c' new2.log || fail "server.c not reported the same"
[ "$(grep -c '^  kept' new2.log)" = 1 ] || fail "vapp new kept more than service.c"

"$vapp" new diag --proto "$proto" --service Diagnostics >new3.log || fail "--service Diagnostics"
grep -q 'serving vapp.test.complex_v1.Diagnostics (2 methods)' new3.log || fail "--service: wrong service"
make -s -C "$work/diag" WERROR=1 >/dev/null 2>&1 || fail "the Diagnostics scaffold does not build"
printf 'syntax = "proto3";\nservice S { rpc M(Nope) returns (Nope); }\n' >"$work/bad.proto"
"$vapp" new bad --proto "$work/bad.proto" >bad.log 2>&1 && fail "a .proto that does not compile was accepted"
grep -q 'bad.proto:2:' bad.log || { cat bad.log; fail "no file:line in the refusal"; }
[ -e "$work/bad" ] && fail "a refused scaffold left a folder"
"$vapp" new Bad --proto "$proto" >/dev/null 2>&1; [ $? = 2 ] || fail "a bad NAME is not a usage error"
echo "sdk_new: passed in $(( $(date +%s) - start )) s"
