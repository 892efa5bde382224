#!/bin/bash
# voip_ui_api.sh - the VoIP UI plugin's C API (appliances/voip/windows/,
# vapp_voip_ui.h) against two real VoIP daemons (alice and bob, each with
# its own baresip, on 127.0.0.1), by its cmocka test, twice:
#   - built for Linux and run natively (sanitized under SAN=1);
#   - built with mingw-w64 against vapp-voip-ui.dll and run under wine,
#     reaching the daemons over tcp.
# The test: refusals the plugin makes itself; an unreachable appliance
# retried without a busy loop; a call dialled, seen ringing at the far
# side with our name, answered, DTMF received there, muted, hung up, both
# call lists following; the appliance's refusals as error events with its
# reason, the connection kept; an appliance that lies and vanishes with
# calls up (hostile_voip), and a peer that answers with random bytes: the
# call list stays usable and consistent, the plugin reconnects; a peer
# that never answers: the caller's loop is never held up by connecting.
# test-timeout: 300
set -u
cd "${TOP:-$(dirname "$0")/../../../..}"
. appliances/voip/tests/lib/voip_rig.sh
. tests/lib/wine.sh
linux_test=$BUILD/tests/progs/test_voip_ui
win_test=build/win/bin/test_voip_ui.exe
voip_rig voip-ui
[ -x "$linux_test" ] || fail "build $linux_test first (make)"
base=$((32000 + ($$ % 300) * 20))
voip_start alice $base $((base + 2)) 440 "tcp:127.0.0.1:$((base + 10))"
voip_start bob $((base + 4)) $((base + 6)) 880 "tcp:127.0.0.1:$((base + 12))"
"$cli" -c "unix:$dir/alice.sock" add-account "sip:alice@127.0.0.1:$base" >/dev/null || fail "alice's account"
"$cli" -c "unix:$dir/bob.sock" add-account "sip:bob@127.0.0.1:$((base + 4))" >/dev/null || fail "bob's account"
export VVUI_ALICE=tcp:127.0.0.1:$((base + 10)) VVUI_BOB=tcp:127.0.0.1:$((base + 12))
export VVUI_ALICE_URI=sip:alice@127.0.0.1:$base VVUI_BOB_URI=sip:bob@127.0.0.1:$((base + 4))
# The liar exits a second after each connection's first calls: started again.
hostile=$BUILD/tests/progs/hostile_voip
[ -x "$hostile" ] || fail "build $hostile first (make)"
(trap 'kill $child 2>/dev/null; exit 0' TERM
 while :; do "$hostile" "tcp:127.0.0.1:$((base + 14))" & child=$!; wait $child; done) 2>>"$dir/hostile.log" &
pids+=($!)
socat "TCP-LISTEN:$((base + 16)),bind=127.0.0.1,reuseaddr,fork" SYSTEM:"head -c 65536 /dev/urandom" 2>/dev/null &
pids+=($!)
socat "TCP-LISTEN:$((base + 18)),bind=127.0.0.1,reuseaddr,fork" SYSTEM:"sleep 60" 2>/dev/null &
pids+=($!)
export VVUI_HOSTILE=tcp:127.0.0.1:$((base + 14)) VVUI_GARBAGE=tcp:127.0.0.1:$((base + 16))
export VVUI_SILENT=tcp:127.0.0.1:$((base + 18))

check_run() { # NAME LOG: every case passed, none skipped
	grep -q '\[  PASSED  \] 7 test(s)' "$2" || { tr -d '\r' <"$2" | tail -n 30; fail "$1: not all 7 cases passed"; }
	grep -q 'SKIPPED' "$2" && fail "$1: a case was skipped"
	echo "$1: 7 cases passed"
}

timeout -k 5 120 "$linux_test" >"$dir/linux.log" 2>&1 || { tail -n 30 "$dir/linux.log"; fail "the Linux build failed"; }
check_run linux "$dir/linux.log"

wine_init
case $? in
0) ;;
77) echo "the Windows build is not tested here (no mingw-w64 or wine64)"; exit 0 ;;
*) exit 1 ;;
esac
trap 'wine_stop; voip_cleanup' EXIT
[ -f "$win_test" ] || fail "build $win_test first (make win)"
t0=$(date +%s%N)
timeout -k 5 120 "$wine" "$win_test" >"$dir/wine.log" 2>&1 || { tr -d '\r' <"$dir/wine.log" | tail -n 30; fail "the Windows build failed under wine"; }
echo "under wine in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
check_run wine "$dir/wine.log"
