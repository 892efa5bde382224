#!/bin/bash
# fp_host.sh - vapp-fpd on the host, before its VM, with libfprint's
# virtual reader (virtual_device: each SCAN names the finger on it),
# driven only through vapp.fingerprint.v1.Fingerprint with vapp-fp:
#   - without --test-mode the virtual reader is refused, and so is Verify;
#   - alice enrolled with 5 scans, a stage reported for each; a retry
#     (a swipe too short) comes as a hint and costs no stage;
#   - her finger verifies: a signed match that vapp-fp checks with the key
#     pinned beforehand, nonce and counter included; mallory's finger: a
#     signed no-match; no finger: an answer within the deadline; a reader
#     error: a clear status;
#   - a byte flipped in alice's sealed template, or bob's template copied
#     over hers: refused and said, never used;
#   - the daemon killed in the middle of an enrollment: nothing half-made
#     is listed or used; restarted: alice still verifies, and the counter
#     went on from where it was (a checker that kept it refuses nothing
#     new as a replay);
#   - a damaged key file: the daemon does not start, and says why;
#   - hostile arguments refused naming the field; delete.
# test-timeout: 180
set -u
cd "${TOP:-$(dirname "$0")/../../../..}"
. appliances/fingerprint/tests/lib/fp_rig.sh
fp_rig fp-host
printf '%064d\n' 7 >"$dir/measurement"

# 1. Not in test mode: the virtual reader is refused.
fp_start
out=$(F status) || fail "status: $out"
case $out in *'"readerOpen":true'*) fail "a virtual reader was opened outside test mode: $out" ;; esac
case $out in *"refused outside test mode"*) ;; *) fail "status does not say why: $out" ;; esac
out=$(F -k /dev/null verify alice right-index 2>&1) && fail "verify without a reader: $out"
fp_stop
echo "outside test mode: the virtual reader is refused"

# 2. Enroll alice: 5 scans, and a retry among them.
fp_start --test-mode
F pubkey "$dir/key.pub" >/dev/null || fail "pubkey"
reader "RETRY 1"
for _ in 1 2 3 4 5; do reader "SCAN alice-finger"; done
F -t 20 enroll alice right-index >"$dir/enroll.out" 2>&1 || fail "enroll: $(cat "$dir/enroll.out")"
for s in 1 2 3 4 5; do
	grep -q "\"stage\":$s,\"stages\":5}" "$dir/enroll.out" || fail "no stage $s: $(cat "$dir/enroll.out")"
done
grep -q '"retry":"the swipe was too short' "$dir/enroll.out" || fail "no retry hint: $(cat "$dir/enroll.out")"
grep -q '"done":true,"templateId":"alice/7"' "$dir/enroll.out" || fail "not done: $(cat "$dir/enroll.out")"
out=$(F enroll alice right-index 2>&1) && fail "enrolled twice: $out"
case $out in *ALREADY_EXISTS*) ;; *) fail "enrolled twice: $out" ;; esac
for _ in 1 2 3 4 5; do reader "SCAN bob-finger"; done
F -t 20 enroll bob left-thumb >/dev/null || fail "enroll bob"
echo "enrolled alice (5 stages, a retry hint) and bob"

# 3. Verify: signed match, signed no-match, no finger, a reader error.
reader "SCAN alice-finger"
out=$(F -k "$dir/key.pub" --counter "$dir/counter" --caller uid:0 verify alice right-index) ||
	fail "alice's finger: $out"
case $out in *'"match":true'*'"counter":1'*) ;; *) fail "alice's finger: $out" ;; esac
reader "SCAN mallory-finger"
out=$(F -k "$dir/key.pub" --counter "$dir/counter" verify alice right-index) && fail "mallory: $out"
case $out in *'"match":false'*'"counter":2'*) ;; *) fail "mallory's finger: $out" ;; esac
t0=$(date +%s%N)
out=$(F -k "$dir/key.pub" -t 3 verify alice right-index 2>&1) && fail "no finger: $out"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -lt 3500 ] || fail "no finger: answered after $ms ms, the deadline was 3 s"
case $out in *DEADLINE_EXCEEDED*) ;; *) fail "no finger: $out" ;; esac
reader "ERROR 2"
out=$(F -k "$dir/key.pub" verify alice right-index 2>&1) && fail "a reader error: $out"
case $out in *UNAVAILABLE*"the reader:"*) ;; *) fail "a reader error: $out" ;; esac
# Another appliance's key: the same answer is refused.
printf '%064d\n' 0 >"$dir/other.pub"
reader "SCAN alice-finger"
out=$(F -k "$dir/other.pub" verify alice right-index 2>&1) && fail "another key: $out"
case $out in *"signature does not verify"*) ;; *) fail "another key: $out" ;; esac
reader "SCAN alice-finger"
out=$(F -k "$dir/key.pub" --caller guest-b verify alice right-index 2>&1) && fail "caller: $out"
case $out in *'given to "uid:0", not "guest-b"'*) ;; *) fail "another caller: $out" ;; esac
echo "verify: signed match and no-match, no finger in ${ms} ms, reader error, wrong key and caller refused"

# 4. Sealed templates: tampered, swapped.
tpl=$dir/state/prints/alice/7.tpl
cp "$tpl" "$dir/alice.tpl"
printf '\x55' | dd of="$tpl" bs=1 seek=40 conv=notrunc status=none
# (no scan: the template is refused before the reader is asked)
out=$(F -k "$dir/key.pub" verify alice right-index 2>&1) && fail "a tampered template: $out"
case $out in *"tampered"*) ;; *) fail "a tampered template: $out" ;; esac
wait_log "alice/7: the sealed template does not open" 5 || fail "the tampering is not said"
cp "$dir/state/prints/bob/1.tpl" "$tpl"
out=$(F -k "$dir/key.pub" verify alice right-index 2>&1) && fail "bob's template as alice's: $out"
case $out in *"tampered"*) ;; *) fail "bob's template as alice's: $out" ;; esac
F list | grep -q '"user":"alice"' && fail "a template that does not open is listed"
cp "$dir/alice.tpl" "$tpl"
echo "a flipped byte and a swapped template: refused and said"

# 5. Killed in the middle of an enrollment; restarted.
reader "SCAN carol-finger"
reader "SCAN carol-finger"
F -t 30 enroll carol right-middle >"$dir/carol.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q '"stage":2' "$dir/carol.out" && break; sleep 0.1; done
grep -q '"stage":2' "$dir/carol.out" || fail "carol's enrollment did not start: $(cat "$dir/carol.out")"
kill -9 "$FPD_PID"
wait "$FPD_PID" 2>/dev/null
FPD_PID=
fp_start --test-mode
F list >"$dir/list.out" || fail "list after the crash"
grep -q carol "$dir/list.out" && fail "a half-made enrollment is listed: $(cat "$dir/list.out")"
ls -A "$dir/state/prints" | grep -q carol && fail "a half-made enrollment left files"
grep -q '"user":"alice"' "$dir/list.out" || fail "alice is gone after the restart"
reader "SCAN alice-finger"
out=$(F -k "$dir/key.pub" --counter "$dir/counter" verify alice right-index) || fail "after restart: $out"
case $out in *'"match":true'*'"counter":'*) ;; *) fail "after restart: $out" ;; esac
c=$(echo "$out" | sed -n 's/.*"counter":\([0-9]*\).*/\1/p')
[ "$c" -gt 2 ] || fail "the counter went back after the restart: $c"
echo "killed mid-enrollment: nothing half-made; restarted: alice verifies, counter $c"

# 6. Hostile arguments, delete.
for bad in "Alice right-index" "../x right-index" "alice 11" "alice 0"; do
	out=$(F -k "$dir/key.pub" verify $bad 2>&1) && fail "verify $bad: $out"
done
out=$(F enroll "a/b" right-index 2>&1) && fail "enroll a/b: $out"
case $out in *INVALID_ARGUMENT*user*) ;; *) fail "enroll a/b: $out" ;; esac
out=$(F delete bob) || fail "delete bob: $out"
case $out in *'"deleted":1'*) ;; *) fail "delete bob: $out" ;; esac
out=$(F delete bob 2>&1) && fail "delete bob twice: $out"
echo "hostile arguments refused; delete"

# 7. A damaged key: the daemon does not start, and says why.
fp_stop
head -c 7 /dev/urandom >"$dir/state/seal.key"
FP_VIRTUAL_DEVICE=$dir/reader.sock timeout 10 "$fpd" --test-mode -l "unix:$dir/x.sock" \
	-s "$dir/state" >"$dir/bad.log" 2>&1 && fail "started with a damaged key"
grep -q "seal.key is damaged" "$dir/bad.log" || fail "the damaged key is not said: $(cat "$dir/bad.log")"
echo "a damaged key: not started: $(grep seal.key "$dir/bad.log")"
echo "fp_host: passed"
