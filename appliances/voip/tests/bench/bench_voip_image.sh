#!/bin/bash
# bench_voip_image.sh - the VoIP appliance image's figures, appended to the
# --json FILE as one JSON object a line, like the C benchmarks:
#
#   voip_image_bytes        kernel + initramfs (the issue's budget:
#                           24 MiB)
#   voip_boot_to_ready_ms   QEMU start to the SIP stack ready ("baresip is
#                           ready" on the console, the daemon then answers
#                           GetStatus), median of 3 boots, TCG
#   voip_ram_floor_mib      the least -m that still boots to a running SIP
#                           stack (bisected, 8 MiB steps)
#   voip_rtp_packets_60s    RTP packets the appliance sent to a host-side
#                           peer in 60 s of an established call (20 ms
#                           packets: 3000 is the baseline, none lost)
#   voip_rtp_loss_pct       100 * (1 - that / 3000), at least 0
#
# The VM is booted from the image's qemu.args (QEMU as root here), its
# sound card on the tests' ALSA card, its tap in a namespace where the peer
# (bob, tests/lib/voip_vm.sh) runs. Under TCG every figure is a TCG figure.
# Needs root; without it, says why and records nothing. Bounded by
# $VOIP_BENCH_LIMIT seconds (default 900).
#   bench_voip_image.sh [--json FILE]
set -u
cd "${TOP:-$(dirname "$0")/../../../..}"
json=
[ "${1:-}" = --json ] && json=${2:-}
limit=${VOIP_BENCH_LIMIT:-900}
. appliances/voip/tests/lib/voip_vm.sh
. tests/lib/bench_emit.sh
. tests/lib/image_boot.sh # image_args, image_mem
why=$(voip_vm_check)
case $? in 0) ;; 77) echo "bench_voip_image: skipped: $why"; exit 0 ;; *) echo "$why"; exit 1 ;; esac
voip_vm_init
run=$work/run
tap=vb$$
QPID=

vm_stop() {
	[ -n "$QPID" ] && kill -9 "$QPID" 2>/dev/null && wait "$QPID" 2>/dev/null
	QPID=
}
# Boots at MEM MiB; 0 when the SIP stack is running within 60 s. Sets READY_MS.
vm_boot() {
	vm_stop
	mkdir -p "$run"
	rm -f "$run"/*.sock "$run/state.img"
	truncate -s 16M "$run/state.img"
	: >"$run/console.log"
	image_args "$work/img" "$run" "$1" "TAP_eth0=$tap" AUDIODEV=alsa
	local t0=$(date +%s%N)
	ALSA_CONFIG_PATH=$work/asound.conf setpriv --pdeathsig KILL -- "${IMAGE_ARGS[@]}" </dev/null \
		>"$run/qemu.log" 2>&1 &
	QPID=$!
	echo "$QPID" >>"$work/qemu.pids"
	voip_tap_in "$tap" 10 || return 1
	wait_for "$run/console.log" 'baresip is ready' 60 || return 1
	READY_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
	timeout 10 "$cli" -c "serial:$run/vapp.voip.sock" status 2>/dev/null |
		grep -q '"sipStackRunning":true'
}

kb=$(stat -c %s "$work/img/kernel")
ib=$(stat -c %s "$work/img/initramfs")
echo "image: kernel $kb + initramfs $ib bytes"
bench_emit voip_image_bytes $((kb + ib)) bytes $((24 * 1024 * 1024))

mem=$(image_mem "$work/img")
times=()
for i in 1 2 3; do
	vm_boot "$mem" || fail "boot $i at $mem MiB did not reach a running SIP stack"
	times+=("$READY_MS")
	echo "boot $i: QEMU start to SIP stack ready in $READY_MS ms"
done
bench_emit voip_boot_to_ready_ms "${times[*]}" ms

lo=32 hi=$mem
while [ $((hi - lo)) -gt 8 ] && [ "$(left)" -gt 200 ]; do
	mid=$(( (lo + hi) / 2 ))
	if vm_boot "$mid"; then
		echo "  $mid MiB: SIP stack running"
		hi=$mid
	else
		echo "  $mid MiB: no ($(grep -a -m1 -o 'Out of memory\|Kernel panic[^\r]*\|Killed' "$run/console.log" || echo 'not ready'))"
		lo=$mid
	fi
done
bench_emit voip_ram_floor_mib "$hi" MiB "$mem"

# RTP: 60 s of an established call, the appliance's packets counted as
# they reach the peer's side of the tap.
vm_boot "$mem" || fail "the RTP boot"
voip_bob_up
ip netns exec "$ns" nft -f - <<NFT || fail "nft counter"
table inet voipbench {
	chain in {
		type filter hook input priority 0;
		ip saddr $app_ip udp dport 6060-6159 counter
	}
}
NFT
app() { timeout 30 "$cli" -c "serial:$run/vapp.voip.sock" "$@"; }
app add-account "sip:alice@$app_ip" >/dev/null || fail "the appliance's account"
bob -t 80 events >"$work/bob.events" 2>&1 &
pids+=($!)
sleep 0.5
out=$(app dial "sip:bob@$peer_ip") || fail "dial: $out"
id=$(echo "$out" | field id)
wait_for "$work/bob.events" EVENT_CALL_INCOMING 20 || fail "bob saw no call"
bid=$(grep EVENT_CALL_INCOMING "$work/bob.events" | sed -n 's/.*"call":{"id":"\([^"]*\)".*/\1/p')
bob answer "$bid" >/dev/null || fail "bob: answer"
wait_for "$work/bob.events" EVENT_CALL_ESTABLISHED 20 || fail "not established"
packets() { ip netns exec "$ns" nft list table inet voipbench | sed -n 's/.*counter packets \([0-9]*\).*/\1/p'; }
sleep 2
c0=$(packets)
sleep 60
c1=$(packets)
bob hangup "$bid" >/dev/null
n=$((c1 - c0))
bench_emit voip_rtp_packets_60s "$n" packets 3000
bench_emit voip_rtp_loss_pct "$(awk -v n="$n" 'BEGIN { l = 100 * (1 - n / 3000); printf "%.2f", l < 0 ? 0 : l }')" pct
vm_stop
