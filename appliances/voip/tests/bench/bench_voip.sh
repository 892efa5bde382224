#!/bin/bash
# bench_voip.sh - what vapp-voipd adds to placing a call: a call placed
# through the daemon until it is established (`vapp-voip call`: the
# events watched, Dial, WatchEvents' established) against a bare baresip
# placing the same call on its own control socket (bsctl, until its
# CALL_ESTABLISHED), both timed from outside the process, both to the same
# bare baresip that answers by itself, interleaved, on the host (the
# image's figures come with the image). A baresip's control socket takes one client, which is why the
# baseline caller is a second bare baresip and not the daemon's own.
#   bench_voip.sh [--json FILE]
set -u
cd "${TOP:-$(dirname "$0")/../../../..}"
. appliances/voip/tests/lib/voip_rig.sh
json=
[ "${1:-}" = --json ] && json=${2:-}
bsctl=$BUILD/tests/progs/bsctl
[ -x "$bsctl" ] || { echo "build $bsctl first (make)"; exit 1; }
voip_rig voip-bench
runs=${BENCH_RUNS:-5}
base=$((40000 + ($$ % 200) * 20))

bare() { # NAME SIP_PORT CTL_PORT ACCOUNT_PARAMS: a bare baresip
	mkdir -p "$dir/$1"
	cat >"$dir/$1/config" <<CONF
poll_method		epoll
sip_listen		127.0.0.1:$2
module_path		/usr/lib/baresip/modules
rtp_ports		$(($2 + 1000))-$(($2 + 1099))
module			g711.so
module			account.so
module			menu.so
module			ctrl_tcp.so
ctrl_tcp_listen		127.0.0.1:$3
module			ausine.so
audio_source		ausine,440
audio_player		ausine,none
ausrc_srate		48000
ausrc_channels		2
CONF
	echo "<sip:$1@127.0.0.1:$2>$4;regint=0" >"$dir/$1/accounts"
	baresip -f "$dir/$1" </dev/null >"$dir/$1.log" 2>&1 &
	pids+=($!)
}
bare callee $((base + 400)) $((base + 402)) ";answermode=auto"
bare caller $((base + 600)) $((base + 602)) ""
voip_start alice $base $((base + 2)) 440
A() { "$cli" -c "unix:$dir/alice.sock" "$@"; }
A add-account "sip:alice@127.0.0.1:$base" >/dev/null || fail "alice's account"
callee=sip:callee@127.0.0.1:$((base + 400))
for _ in $(seq 50); do "$bsctl" $((base + 602)) reginfo "" - 500 >/dev/null 2>&1 && break; sleep 0.1; done

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
: >"$dir/direct" && : >"$dir/daemon"
for _ in $(seq "$runs"); do
	t0=$(date +%s%N)
	"$bsctl" $((base + 602)) dial "$callee" CALL_ESTABLISHED 10000 >/dev/null ||
		fail "a direct call was not established"
	echo $(( ($(date +%s%N) - t0) / 1000000 )) >>"$dir/direct"
	"$bsctl" $((base + 602)) hangup "" CALL_CLOSED 5000 >/dev/null || fail "direct hangup"
	t0=$(date +%s%N)
	out=$(A -t 10 call "$callee") || fail "a call through the daemon was not established: $out"
	echo $(( ($(date +%s%N) - t0) / 1000000 )) >>"$dir/daemon"
	id=$(echo "$out" | field id)
	A hangup "$id" >/dev/null || fail "hangup"
	sleep 0.3
done
d=$(median <"$dir/direct")
v=$(median <"$dir/daemon")
lo=$(sort -n "$dir/daemon" | head -n 1)
hi=$(sort -n "$dir/daemon" | tail -n 1)
ratio=$(awk -v a="$v" -v b="$d" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
printf '%-26s %8s ms  [%s..%s]  baseline %s ms  ratio %s  (%s runs)\n' voip_call_setup_ms "$v" \
	"$lo" "$hi" "$d" "$ratio" "$runs"
[ -z "$json" ] || printf '{"name":"voip_call_setup_ms","value":%s,"min":%s,"max":%s,"runs":%s,"unit":"ms","baseline":%s,"ratio":%s}\n' \
	"$v" "$lo" "$hi" "$runs" "$d" "$ratio" >>"$json"
