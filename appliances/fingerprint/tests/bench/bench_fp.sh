#!/bin/bash
# bench_fp.sh - the fingerprint appliance's verify, on the host with
# libfprint's virtual reader (the same reader both ways):
#   fp_verify_ms         a Verify RPC to vapp-fpd (a SCAN sent first), the
#                        signed assertion checked as a guest checks it:
#                        median of 200; baseline: libfprint's own verify in
#                        one process, the same way (fp_bench direct)
#   fp_verify_p90_ms     the same, 90th percentile
# The image's figures (fp_image_bytes, fp_ram_floor_mib): bench_fp_image.sh.
set -u
cd "${TOP:-$(dirname "$0")/../../../..}"
json=
[ "${1:-}" = --json ] && json=$2
. tests/lib/bench_emit.sh
. appliances/fingerprint/tests/lib/fp_rig.sh
bench=$BUILD/tests/progs/fp_bench
[ -x "$bench" ] || { echo "build $bench first (make)"; exit 1; }
fp_rig fp-bench
n=200

base=$(FP_VIRTUAL_DEVICE=$dir/direct.sock "$bench" direct $n) || fail "the baseline: $base"
fp_start --test-mode
for _ in $(seq 5); do reader "SCAN bench-finger"; done
F -t 20 enroll alice right-index >/dev/null || fail "enroll"
out=$(FP_VIRTUAL_DEVICE=$dir/reader.sock "$bench" rpc "unix:$dir/fp.sock" $n) || fail "rpc: $out"
fp_stop
b_med=$(echo "$base" | awk '{ print $2 }')
r_med=$(echo "$out" | awk '{ print $2 }')
r_p90=$(echo "$out" | awk '{ print $4 }')
b_p90=$(echo "$base" | awk '{ print $4 }')
bench_emit fp_verify_ms "$r_med" ms "$b_med"
bench_emit fp_verify_p90_ms "$r_p90" ms "$b_p90"
