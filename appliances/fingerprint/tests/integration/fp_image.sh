#!/bin/bash
# fp_image.sh - vapp-fpd on the host with libfprint's image reader
# (virtual_image): real grey images and libfprint's real NBIS matching
# (minutiae by mindtct, scores by bozorth3), not a name typed on a socket.
# The prints are fp_synth's (tests/progs/fp_synth.c: synthetic fingers made
# from a seed; no image is shipped). The images reach the reader the way
# the VM test's do, through --test-image-reader (here a FIFO stands in for
# the virtio-serial port):
#   - alice enrolled with 5 scans of finger 1, bob with 5 of finger 2, a
#     stage reported for each;
#   - alice verifies with other scans of finger 1 (placed elsewhere, turned,
#     pressed differently): signed matches; fingers 3 and 4 on alice: signed
#     no-matches; bob's finger on alice: a no-match;
#   - Identify: a new scan of bob's finger names bob, alice's names alice,
#     a finger enrolled nowhere names nobody; each a signed assertion;
#   - a header the reader would refuse (over 5000 pixels a side) ends the
#     port's session and nothing else: the next image still verifies.
# test-timeout: 240
set -u
cd "${TOP:-$(dirname "$0")/../../../..}"
. appliances/fingerprint/tests/lib/fp_rig.sh
synth=$BUILD/tests/progs/fp_synth
[ -x "$synth" ] || { echo "FAIL: build $synth first (make)"; exit 1; }
fp_rig fp-image
printf '%064d\n' 9 >"$dir/measurement"
mkfifo "$dir/port"
fp_start --test-image-reader "$dir/port"
exec 7<>"$dir/port" # kept open: the daemon sees no end of the port
# Each finger's scans, made once: a finger takes about a second to grow.
for f in 1 2 3 4; do
	"$synth" "$f" 1 2 3 4 5 >"$dir/f$f.enroll" || fail "fp_synth $f"
	for s in 11 12 13; do "$synth" "$f" "$s" >"$dir/f$f.$s" || fail "fp_synth $f $s"; done
done
put() { cat "$1" >&7 || fail "the test reader's port: $1"; }
verify() { F -k "$dir/key.pub" --counter "$dir/counter" verify "$@"; }

out=$(F status) || fail "status: $out"
case $out in *'"readerOpen":true,"reader":"Virtual image device'*) ;; *) fail "status: $out" ;; esac
F pubkey "$dir/key.pub" >/dev/null || fail "pubkey"
put "$dir/f1.enroll"
F -t 120 enroll alice right-index >"$dir/enroll.out" 2>&1 || fail "enroll alice: $(cat "$dir/enroll.out")"
grep -q '"stage":5,"stages":5' "$dir/enroll.out" || fail "alice's stages: $(cat "$dir/enroll.out")"
put "$dir/f2.enroll"
F -t 120 enroll bob left-thumb >"$dir/enroll.out" 2>&1 || fail "enroll bob: $(cat "$dir/enroll.out")"
echo "alice (finger 1) and bob (finger 2) enrolled from 5 images each"

for s in 11 12 13; do
	put "$dir/f1.$s"
	out=$(verify alice right-index) || fail "alice's scan $s: $out"
	case $out in *'"match":true'*) ;; *) fail "alice's scan $s: $out" ;; esac
done
for f in 2 3 4; do
	put "$dir/f$f.11"
	out=$(verify alice right-index) && fail "finger $f verified alice: $out"
	case $out in *'"match":false'*) ;; *) fail "finger $f on alice: $out" ;; esac
done
echo "alice: 3 of 3 scans of her finger matched, fingers 2, 3 and 4 did not"

put "$dir/f2.12"
out=$(F -k "$dir/key.pub" --counter "$dir/counter" identify) || fail "identify bob: $out"
case $out in *'"match":true'*'"user":"bob"'*) ;; *) fail "identify bob's finger: $out" ;; esac
put "$dir/f1.12"
out=$(F -k "$dir/key.pub" --counter "$dir/counter" identify) || fail "identify alice: $out"
case $out in *'"match":true'*'"user":"alice"'*) ;; *) fail "identify alice's finger: $out" ;; esac
put "$dir/f3.12"
out=$(F -k "$dir/key.pub" --counter "$dir/counter" identify) && fail "identify finger 3: $out"
case $out in *'"match":false'*) ;; *) fail "identify finger 3: $out" ;; esac
echo "identify: bob's finger is bob, alice's is alice, finger 3 is nobody (signed)"

# A header the reader would refuse: the port's session ends, that is all.
printf '\x70\x17\x00\x00\x70\x17\x00\x00' >&7
wait_log "a 6000x6000 image refused" 10 || fail "the bad header was not refused"
exec 7>&-
exec 7<>"$dir/port"
put "$dir/f1.13"
out=$(verify alice right-index) || fail "alice after a bad header: $out"
echo "a 6000x6000 header: refused, the next image verified"
echo "fp_image: passed"
