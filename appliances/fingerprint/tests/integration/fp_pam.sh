#!/bin/bash
# fp_pam.sh - pam_vapp_fingerprint.so under pamtester (Debian's), against
# vapp-fpd on the host with libfprint's virtual reader. The PAM service is a
# file of this test's own in /etc/pam.d (removed on exit), "auth required"
# on the module alone:
#   - alice's finger on the reader: pamtester authenticates alice;
#   - mallory's finger: authentication fails;
#   - bob (enrolled nowhere): fails;
#   - the appliance's counter rolled back (its state restored from a copy:
#     what a replay of old answers looks like to the guest): refused, said
#     in the log as a replay;
#   - the appliance down: fails within the module's timeout;
#   - a module option it does not know: fails (a service error).
# The same inside a guest VM, through vappd's broker: fp_pam_guest.sh.
# test-timeout: 120
set -u
cd "${TOP:-$(dirname "$0")/../../../..}"
. appliances/fingerprint/tests/lib/fp_rig.sh
module=$PWD/$BUILD/lib/security/pam_vapp_fingerprint.so
command -v pamtester >/dev/null || { echo "pamtester is not installed"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "needs root (a PAM service in /etc/pam.d)"; exit 77; }
[ -f "$module" ] || { echo "FAIL: build $module first (make)"; exit 1; }
fp_rig fp-pam
service=vapp-fp-test-$$
trap 'rm -f "/etc/pam.d/$service"; fp_cleanup' EXIT
pam_conf() { # OPTIONS... (addr=unix:$dir/fp.sock unless one is given)
	echo "auth required $module addr=unix:$dir/fp.sock key=$dir/key.pub counter=$dir/pam.counter $*" \
		>"/etc/pam.d/$service"
}
# A sanitized module in an unsanitized pamtester: the runtimes come first.
preload=
[ "${SAN:-0}" = 1 ] && preload="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
pt() { # USER: pamtester's exit status, its words in $dir/pt.out
	LD_PRELOAD=$preload ASAN_OPTIONS=detect_leaks=0 timeout 30 pamtester "$service" "$1" \
		authenticate >"$dir/pt.out" 2>&1
}

fp_start --test-mode
F pubkey "$dir/key.pub" >/dev/null || fail "pubkey"
for _ in 1 2 3 4 5; do reader "SCAN alice-finger"; done
F -t 20 enroll alice right-index >/dev/null || fail "enroll alice"
pam_conf finger=right-index timeout=5

reader "SCAN alice-finger"
pt alice || fail "alice's finger: $(cat "$dir/pt.out")"
grep -q "successfully authenticated" "$dir/pt.out" || fail "alice: $(cat "$dir/pt.out")"
grep -q "Place your right-index" "$dir/pt.out" || fail "no prompt: $(cat "$dir/pt.out")"
c1=$(cat "$dir/pam.counter")
echo "alice's finger: authenticated (counter $c1)"

reader "SCAN mallory-finger"
pt alice && fail "mallory's finger authenticated alice: $(cat "$dir/pt.out")"
echo "mallory's finger: refused ($(tr '\n' ' ' <"$dir/pt.out"))"
pt bob && fail "bob authenticated: $(cat "$dir/pt.out")"
echo "bob (not enrolled): refused"

# The appliance's state rolled back to before alice's login: it signs
# counters the module has accepted already.
c2=$(cat "$dir/pam.counter")
fp_stop
cp -a "$dir/state" "$dir/state.now"
echo 0 >"$dir/state/counter"
fp_start --test-mode
reader "SCAN alice-finger"
pt alice && fail "a rolled-back counter was accepted: $(cat "$dir/pt.out")"
[ "$(cat "$dir/pam.counter")" = "$c2" ] || fail "the module's counter moved on a refusal"
echo "a rolled-back appliance: refused (the module's counter stays $c2)"
fp_stop
rm -rf "$dir/state"
mv "$dir/state.now" "$dir/state"

# The appliance down, or there but silent: a failure within the timeout.
t0=$(date +%s%N)
pt alice && fail "authenticated with no appliance"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -lt 7000 ] || fail "no appliance: $ms ms, the timeout is 5 s"
socat "UNIX-LISTEN:$dir/silent.sock,fork" SYSTEM:"sleep 60" 2>/dev/null &
pids+=($!)
for _ in $(seq 50); do [ -S "$dir/silent.sock" ] && break; sleep 0.05; done
pam_conf finger=right-index timeout=5 addr=unix:$dir/silent.sock
t0=$(date +%s%N)
pt alice && fail "authenticated by a silent peer"
ms2=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms2" -lt 7000 ] || fail "a silent peer: $ms2 ms, the timeout is 5 s"
echo "the appliance down: refused in $ms ms; a peer that never answers: refused in $ms2 ms"

# A bad option: a service error, never a success.
fp_start --test-mode
pam_conf finger=right-index nonsense=1
reader "SCAN alice-finger"
pt alice && fail "a bad option authenticated: $(cat "$dir/pt.out")"
echo "fp_pam: passed"
