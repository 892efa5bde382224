#!/bin/bash
# fp_vappd.sh - the fingerprint appliance in its VM under vappd, called by
# two guests through the broker: "admin" may do everything, "login" only
# verify, identify and read the key and status. Its reader is libfprint's
# virtual reader, fed from the host through the test image's own port (the
# production manifest has no such port and no --test-reader):
#   - login may not enroll or delete (PERMISSION_DENIED by the policy);
#   - admin enrolls alice with 5 scans, a stage reported for each;
#   - login verifies alice's finger: a signed match naming "login" as the
#     caller (the broker's word, not the guest's) and the image's
#     measurement (vappd's word, over vapp.ctl), checked with the key
#     pinned beforehand; mallory's: a signed no-match;
#   - QEMU killed in the middle of an enrollment: vappd boots it again;
#     nothing half-made is listed; alice still verifies (the state volume
#     kept her template and the key), with a counter above the last one.
# test-timeout: 600
set -u
cd "${TOP:-$(dirname "$0")/../../../..}"
limit=${FP_TEST_LIMIT:-540}
. appliances/fingerprint/tests/lib/fp_vm.sh
name=fp$$
for word in test-reader fp-reader test-mode; do
	grep -q -- "$word" appliances/fingerprint/manifest.yaml &&
		{ echo "FAIL: the production manifest has $word"; exit 1; }
done
fp_vm_init
cat >"$work/policy" <<EOF2
vapp.fingerprint.v1.Fingerprint admin $name allow
vapp.fingerprint.v1.Fingerprint.Verify login $name allow
vapp.fingerprint.v1.Fingerprint.Identify login $name allow
vapp.fingerprint.v1.Fingerprint.GetPublicKey login $name allow
vapp.fingerprint.v1.Fingerprint.GetStatus login $name allow
EOF2
"$vapp" policy check "$work/policy" >/dev/null || fail "the test's policy does not check"
fp_vappd_up admin login
admin() { timeout 60 "$fpcli" -c "unix:$work/run/guests/admin.sock" "$@"; }
login() { timeout 60 "$fpcli" -c "unix:$work/run/guests/login.sock" "$@"; }
t0=$(date +%s%N)
timeout "$(left)" "$vapp" run --name "$name" "$work/img" >"$work/run.out" 2>&1 ||
	fail "vapp run: $(cat "$work/run.out")"
echo "booted and ready in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
vappd_qemu_pid "$name" >>"$work/qemu.pids"
fp_reader_up "$name"
login pubkey "$work/key.pub" >/dev/null || fail "login: pubkey"
# The reader is opened beside the RPC service, which answers first.
for _ in $(seq 100); do
	out=$(login status) || fail "login: status"
	case $out in *'"readerOpen":true'*) break ;; esac
	sleep 0.2
done
case $out in *'"readerOpen":true'*'"testMode":true'*) ;; *) fail "status: $out" ;; esac

# The policy: login may not administer.
out=$(login enroll alice right-index 2>&1) && fail "login enrolled: $out"
case $out in *PERMISSION_DENIED*) ;; *) fail "login enroll: $out" ;; esac
out=$(login delete alice 2>&1) && fail "login deleted: $out"
case $out in *PERMISSION_DENIED*) ;; *) fail "login delete: $out" ;; esac
echo "login may not enroll or delete"

# admin enrolls alice; login verifies.
for _ in 1 2 3 4 5; do reader "SCAN alice-finger"; done
admin -t 60 enroll alice right-index >"$work/enroll.out" 2>&1 || fail "enroll: $(cat "$work/enroll.out")"
grep -q '"stage":5,"stages":5' "$work/enroll.out" || fail "enroll stages: $(cat "$work/enroll.out")"
chain=$(awk '$1 == "chain" { print $2 }' "$work/img/measurement")
reader "SCAN alice-finger"
out=$(login -k "$work/key.pub" --caller login --image "$chain" --counter "$work/counter" \
	verify alice right-index) || fail "alice's finger: $out"
case $out in *'"match":true'*'"caller":"login"'*) ;; *) fail "alice's finger: $out" ;; esac
reader "SCAN alice-finger"
out=$(login -k "$work/key.pub" --image "$(printf '%064d' 0)" verify alice right-index 2>&1) &&
	fail "another image's assertion accepted: $out"
case $out in *"another appliance image"*) ;; *) fail "another image: $out" ;; esac
reader "SCAN mallory-finger"
out=$(login -k "$work/key.pub" --caller login --counter "$work/counter" verify alice right-index) &&
	fail "mallory: $out"
case $out in *'"match":false'*) ;; *) fail "mallory's finger: $out" ;; esac
echo "enrolled by admin; login: alice a signed match (caller \"login\", image $chain), mallory a signed no-match"

# QEMU killed in the middle of carol's enrollment.
reader "SCAN carol-finger"
reader "SCAN carol-finger"
admin -t 60 enroll carol right-middle >"$work/carol.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q '"stage":2' "$work/carol.out" && break; sleep 0.1; done
grep -q '"stage":2' "$work/carol.out" || fail "carol's enrollment: $(cat "$work/carol.out")"
pid1=$(vappd_qemu_pid "$name")
kill -9 "$pid1"
pid2=$(vappd_wait_restarted "$name" "$pid1" 120) || fail "vappd did not boot it again"
echo "$pid2" >>"$work/qemu.pids"
exec 7>&-
fp_reader_up "$name"
for _ in $(seq 100); do admin list >"$work/list.out" 2>/dev/null && break; sleep 0.3; done
grep -q '"user":"alice"' "$work/list.out" || fail "alice is gone: $(cat "$work/list.out")"
grep -q carol "$work/list.out" && fail "a half-made enrollment is listed: $(cat "$work/list.out")"
reader "SCAN alice-finger"
out=$(login -k "$work/key.pub" --caller login --counter "$work/counter" verify alice right-index) ||
	fail "alice after the restart: $out"
echo "QEMU killed mid-enrollment: booted again, nothing half-made, alice verifies: $out"
echo "fp_vappd: passed in $(( $(date +%s) - start )) s"
