#!/bin/bash
# firewall_traffic.sh - the firewall appliance under QEMU (TCG) between a
# guest namespace and an uplink namespace, with real packets:
#   - a fresh appliance (default accept) forwards and masquerades TCP, UDP, ICMP,
#     and IPv6 TCP and ICMPv6;
#   - in the memory its manifest asks for, it forwards a 3 s iperf3 stream at
#     full speed and still forwards after it (its receive queues must not eat
#     the RAM: kernel/README.md, "Memory");
#   - ReplaceRuleset (vapp-fw replace): allowed TCP/UDP/ICMP pass, a denied UDP
#     port and the default drop (TCP to another port times out) are dropped;
#   - counters rise on the rules that matched and on the default policy;
#   - WatchLog delivers the drop events (rule id, port) as they happen;
#   - a rule added over RPC takes effect at once; deleting it restores;
#   - an invalid ReplaceRuleset is refused with INVALID_ARGUMENT naming the
#     field, and the old rules still hold (same generation, same traffic);
#   - a Qubes rule list (vapp-fw import/export): an ICMP type dropped, a
#     list with mistakes refused by line and column, export gives it back;
#   - a guest claiming a source outside its network (IPv4 and IPv6) is
#     dropped and logged; its own addresses pass.
# Calls go through vappd's broker (FW_DIRECT=1: straight to the channel).
# Bounded by $FW_TEST_LIMIT seconds (default 400); QEMU, servers and
# namespaces are removed on exit, also on failure.
set -u
cd "${TOP:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
limit=${FW_TEST_LIMIT:-400}
start=$(date +%s)
. tests/lib/guest.sh
. appliances/firewall/tests/lib/fw_rig.sh

fail() {
	echo "FAIL: $*"
	echo "--- console (last 30 lines) ---"
	tail -n 30 "$FW_RUN/console.log" 2>/dev/null
	exit 1
}
left() { local l=$(( limit - ($(date +%s) - start) )); echo $(( l > 0 ? l : 1 )); }

fw_rig_init
case $? in 0) ;; 77) echo "$FW_SKIP"; exit 77 ;; *) fail "the firewall image did not build" ;; esac
fw_ns_up || fail "network namespaces"
fw_servers_up
# Through vappd's broker when vappd is built (the way guests reach it: one
# long-lived upstream connection, the guest "tester" allowed everything);
# else QEMU from qemu.args and the channel's socket directly.
if [ -x "$BUILD/bin/vappd" ] && [ -z "${FW_DIRECT:-}" ]; then
	name=fwt$$
	echo "vapp.firewall.v1.Firewall tester $name allow" >"$FW_WORK/policy"
	fw_vappd_run "$name" "$FW_WORK/policy" tester || fail "vappd could not run the firewall"
	FW_GATE=$FW_WORK/run/guests/tester.sock
	echo "ready: vapp run returned after $FW_READY_MS ms; calls go through vappd's broker"
else
	fw_vm_start || fail "QEMU or its taps"
	fw_vm_wait_ready 120 || fail "the firewall did not start forwarding"
	echo "ready: QEMU start to forwarding in $FW_READY_MS ms; calls go to vapp.fw directly"
fi

# 1. fresh appliance: default accept, nothing configured
out=$(fw status) || fail "status: $out"
echo "$out"
case $out in *"forwarding on"*"default (state volume empty)"*) ;; *) fail "status: $out" ;; esac
# A wall clock (the emulated RTC): rule expiry reads it.
t=$(fw -j status | tr -d ' \n' | sed -n 's/.*"time":"\([0-9]*\)".*/\1/p')
[ "${t:-0}" -gt 1577836800 ] || fail "the appliance has no wall clock (status time '${t:-}')"
echo "the appliance's clock is $(( $(date +%s) - t )) s behind this machine's"
fw_tcp_ok 10 || fail "fresh: TCP guest -> uplink did not pass"
fw_ping_ok || fail "fresh: ping did not pass"
fw_udp_send 5454 fresh-5454
sleep 0.5
grep -q fresh-5454 "$FW_WORK/udp5454.log" 2>/dev/null || fail "fresh: UDP 5454 did not pass"
# Masquerade: the server sees the firewall's uplink address, not the guest's.
peer=$(fw_g timeout 5 socat -T 3 - TCP:$FW_UP_IP:8080 </dev/null 2>/dev/null; \
	fw_u ss -tn state time-wait 2>/dev/null | awk 'NR > 1 { print $4 }' | head -n 1)
case $peer in *10.99.2.2*) fail "the uplink saw the guest's own address: $peer" ;; esac
fw_tcp6_ok || fail "fresh: IPv6 TCP did not pass"
fw_ping6_ok || fail "fresh: an ICMPv6 echo did not pass"
echo "fresh: TCP, ICMP, UDP pass; IPv6 TCP and ICMPv6 too"
# The appliance's QEMU: vappd's when it runs it (a restart would hide a crash).
app_pid() { if [ -n "${name:-}" ]; then fw_qemu_pid "$name"; else echo "$FW_PID"; fi; }
qpid=$(app_pid)
mbps=$(fw_g timeout 30 iperf3 -c "$FW_UP_IP" -p 5201 -t 3 -J 2>/dev/null |
	awk -F'[:,]' '/"sum_received"/ { f = 1 } f && /"bits_per_second"/ { printf "%d", $2 / 1e6; exit }')
[ "${mbps:-0}" -gt 0 ] || fail "a 3 s iperf3 stream through the firewall gave no figure"
fw_tcp_ok 10 || fail "after a full-speed stream, TCP guest -> uplink did not pass (out of memory?)"
grep -aq 'Out of memory' "$FW_RUN/console.log" 2>/dev/null && fail "the appliance ran out of memory under a stream"
[ "$(app_pid)" = "$qpid" ] && kill -0 "$qpid" 2>/dev/null ||
	fail "the appliance's QEMU (pid $qpid) did not live through a stream"
echo "a 3 s stream at $mbps Mbit/s through it in $(image_mem "$FW_IMG") MiB; it still forwards"

# 2. a ruleset: allow TCP 8080, ICMP, UDP 5353; drop UDP 5454; default drop
cat >"$FW_WORK/rules.json" <<EOF
{ "rules": [
    { "protocol": "PROTOCOL_TCP", "destination": "$FW_UP_IP", "portMin": 8080, "action": "ACTION_ACCEPT" },
    { "protocol": "PROTOCOL_ICMP", "destination": "10.99.1.0/24", "action": "ACTION_ACCEPT" },
    { "protocol": "PROTOCOL_UDP", "destination": "$FW_UP_IP", "portMin": 5353, "action": "ACTION_ACCEPT" },
    { "protocol": "PROTOCOL_UDP", "portMin": 5400, "portMax": 5500, "action": "ACTION_DROP" },
    { "protocol": "PROTOCOL_TCP", "destination": "2001:db8::/32", "portMin": 443, "action": "ACTION_ACCEPT" }
  ],
  "defaultPolicy": "ACTION_DROP" }
EOF
out=$(fw replace "$FW_WORK/rules.json") || fail "replace: $out"
echo "$out"
gen=$(fw -j list | sed -n 's/.*"generation": "\([0-9]*\)".*/\1/p')
[ -n "$gen" ] || fail "no generation in list"

fw_tcp_ok || fail "ruleset: allowed TCP 8080 did not pass"
fw_ping_ok || fail "ruleset: allowed ICMP did not pass"
fw_udp_send 5353 allowed-5353
fw_udp_send 5454 denied-5454
sleep 0.5
grep -q allowed-5353 "$FW_WORK/udp5353.log" 2>/dev/null || fail "ruleset: allowed UDP 5353 did not pass"
grep -q denied-5454 "$FW_WORK/udp5454.log" && fail "ruleset: denied UDP 5454 passed"
# Default drop: TCP to a port no rule allows must time out, not be refused.
t0=$(date +%s%N)
fw_g timeout 5 socat -T 2 - TCP:$FW_UP_IP:8081,connect-timeout=2 </dev/null >/dev/null 2>&1 &&
	fail "ruleset: TCP 8081 (default drop) connected"
took=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$took" -ge 1500 ] || fail "ruleset: TCP 8081 was refused in $took ms, not dropped"
fw_tcp6_ok 3 && fail "ruleset: IPv6 TCP 8080 (no rule: default drop) passed"
echo "ruleset: TCP 8080, ICMP, UDP 5353 pass; UDP 5454, TCP 8081 and IPv6 TCP 8080 dropped"

# 3. counters rose where traffic matched
fw -j counters >"$FW_WORK/counters.json" || fail "counters"
cnt() { # ID: packets of rule ID
	tr -d ' \n' <"$FW_WORK/counters.json" |
		grep -o "{\"id\":$1,\"packets\":\"[0-9]*\"" | grep -o '[0-9]*"$' | tr -d '"'
}
for id in 1 2 3 4; do
	p=$(cnt $id)
	[ "${p:-0}" -gt 0 ] || fail "counter of rule $id did not rise: $(cat "$FW_WORK/counters.json")"
done
pol=$(tr -d ' \n' <"$FW_WORK/counters.json" | sed -n 's/.*"defaultPolicy":{"packets":"\([0-9]*\)".*/\1/p')
[ "${pol:-0}" -gt 0 ] || fail "default policy counter did not rise"
fw counters

# 4. WatchLog: drop events arrive on the stream (straight to the channel,
#    which has one client at a time, nothing else is called while it is open)
fw -j -n 3 -t 30000 log 50 >"$FW_WORK/log.json" 2>"$FW_WORK/log.err" &
logpid=$!
sleep 2
for i in 1 2 3 4 5; do fw_udp_send 5454 "watched-$i"; sleep 0.2; done
for _ in $(seq 100); do kill -0 $logpid 2>/dev/null || break; sleep 0.2; done
kill $logpid 2>/dev/null && fail "WatchLog: fewer than 3 events in time ($(cat "$FW_WORK/log.err"))"
wait $logpid || fail "WatchLog: $(cat "$FW_WORK/log.err")"
n=$(grep -c '"ruleId": 4' "$FW_WORK/log.json")
[ "$n" -ge 3 ] || fail "WatchLog: $n events of rule 4: $(cat "$FW_WORK/log.json")"
grep -q '"destinationPort": 5454' "$FW_WORK/log.json" || fail "WatchLog: no port 5454 event"
grep -q "\"source\": \"$FW_GUEST_IP\"" "$FW_WORK/log.json" || fail "WatchLog: source not the guest"
echo "WatchLog: $n drop events of rule 4 (UDP 5454 from $FW_GUEST_IP)"

# 4b. the stream is rate-limited: at 1 event a second, a burst of 12 drops
#     gives one event, and the next event counts the ones left out
fw -j -n 2 -t 30000 log 1 >"$FW_WORK/rate.json" 2>"$FW_WORK/rate.err" &
logpid=$!
sleep 2
for i in $(seq 12); do fw_udp_send 5454 "burst-$i"; done
sleep 1.5
fw_udp_send 5454 after-burst
for _ in $(seq 100); do kill -0 $logpid 2>/dev/null || break; sleep 0.2; done
kill $logpid 2>/dev/null && fail "rate limit: fewer than 2 events in time ($(cat "$FW_WORK/rate.err"))"
wait $logpid || fail "rate limit: $(cat "$FW_WORK/rate.err")"
left_out=$(sed -n 's/.*"suppressed": "\([0-9]*\)".*/\1/p' "$FW_WORK/rate.json" | head -n 1)
[ "${left_out:-0}" -ge 6 ] || fail "rate limit: the second event says ${left_out:-0} left out: $(cat "$FW_WORK/rate.json")"
echo "WatchLog at 1/s: a burst of 12 drops gave 1 event, the next said $left_out were left out"

# 5. a rule added over RPC takes effect at once, without a restart
out=$(fw add drop proto tcp to $FW_UP_IP port 8080 before 1) || fail "add: $out"
id=${out##* }
fw_tcp_ok 3 && fail "added drop rule $id: TCP 8080 still passed"
out=$(fw del "$id") || fail "del $id: $out"
fw_tcp_ok || fail "deleted rule $id: TCP 8080 did not pass again"
echo "AddRule $id took effect at once; DeleteRule restored"
gen=$(fw -j list | sed -n 's/.*"generation": "\([0-9]*\)".*/\1/p')

# 5b. vapp call works on the same service (the .proto compiled at run time)
vcall() { # METHOD [JSON]: once more after a connect timeout, as fw() does
	local out rc addr=serial:$FW_RUN/vapp.fw.sock
	[ -n "${FW_GATE:-}" ] && addr=unix:$FW_GATE
	out=$(timeout 30 "$BUILD/bin/vapp" call --proto appliances/firewall/firewall.proto \
		"$addr" "$@" 2>&1)
	rc=$?
	case $out in *"timed out"*) out=$(timeout 30 "$BUILD/bin/vapp" call \
		--proto appliances/firewall/firewall.proto "$addr" "$@" 2>&1)
		rc=$? ;; esac
	echo "$out"
	return $rc
}
if "$BUILD/bin/vapp" call --help >/dev/null 2>&1; then
	out=$(vcall GetStatus) || fail "vapp call GetStatus: $out"
	case $out in *'"forwarding": true'*) ;; *) fail "vapp call GetStatus: $out" ;; esac
	out=$(vcall AddRule '{"rule": {"protocol": "PROTOCOL_UDP", "portMin": 99999, "action": "ACTION_DROP"}}') &&
		fail "vapp call AddRule with port 99999 succeeded: $out"
	case $out in *INVALID_ARGUMENT*rule.port_min*) echo "vapp call: $out" ;;
	*) fail "vapp call AddRule with port 99999: $out" ;; esac
else
	echo "note: this vapp has no 'call' command; skipped"
fi

# 6. invalid ReplaceRuleset: refused naming the field; the old rules hold
bad() { # NAME JSON-RULE EXPECTED-FIELD
	printf '{ "rules": [ { "protocol": "PROTOCOL_TCP", "portMin": 80, "action": "ACTION_ACCEPT" }, %s ], "defaultPolicy": "ACTION_ACCEPT" }' \
		"$2" >"$FW_WORK/bad-$1.json"
	out=$(fw replace "$FW_WORK/bad-$1.json" 2>&1) && fail "bad ruleset $1 accepted"
	case $out in *INVALID_ARGUMENT*"$3"*) echo "refused $1: $out" ;;
	*) fail "bad ruleset $1: $out" ;; esac
}
bad port '{ "protocol": "PROTOCOL_UDP", "portMin": 70000, "action": "ACTION_DROP" }' 'ruleset.rules[1].port_min'
bad dest '{ "destination": "10.0.0.1; flush ruleset", "action": "ACTION_DROP" }' 'ruleset.rules[1].destination'
bad prefix '{ "destination": "10.99.1.0/33", "action": "ACTION_DROP" }' 'ruleset.rules[1].destination'
bad action '{ "protocol": "PROTOCOL_TCP" }' 'ruleset.rules[1].action'
bad icmpport '{ "protocol": "PROTOCOL_ICMP", "portMin": 1, "action": "ACTION_DROP" }' 'ruleset.rules[1].port_min'
gen2=$(fw -j list | sed -n 's/.*"generation": "\([0-9]*\)".*/\1/p')
[ "$gen2" = "$gen" ] || fail "generation changed from $gen to $gen2 after refused replaces"
fw_tcp_ok || fail "after refused replaces: TCP 8080 no longer passes"
fw_udp_send 5454 after-bad
sleep 0.5
grep -q after-bad "$FW_WORK/udp5454.log" && fail "after refused replaces: UDP 5454 passes"
echo "invalid ReplaceRuleset refused; the old rules (generation $gen) still hold"
# 7. a Qubes rule list (vapp-fw import): echo requests dropped by their
#    ICMP type while TCP 8080 passes and the rest is accepted; a list with
#    a mistake is refused with its line and column and changes nothing;
#    export gives the list back as it went in
cat >"$FW_WORK/qubes.txt" <<EOF
action=drop proto=icmp icmptype=8 comment=no pings
action=accept dst4=$FW_UP_IP proto=tcp dstports=8080-8080 comment=web
action=accept dst6=$FW_UP_IP6 proto=tcp dstports=8080-8080 comment=web six
action=accept
EOF
out=$(fw import "$FW_WORK/qubes.txt") || fail "import: $out"
fw_ping_ok 2 && fail "imported: an ICMP echo request (type 8, dropped) passed"
# Type 8 is ICMP's echo request, not ICMPv6's (128): pings over IPv6 pass.
fw_ping6_ok || fail "imported: an ICMPv6 echo request (type 128) did not pass"
fw_tcp_ok || fail "imported: TCP 8080 did not pass"
fw_tcp6_ok || fail "imported: IPv6 TCP 8080 did not pass"
out=$(fw add drop proto icmp to "$FW_UP_IP6" icmp-type 128) || fail "add ICMPv6 128: $out"
fw_ping6_ok 2 && fail "an ICMPv6 echo request passed a rule dropping type 128"
fw del "${out##* }" >/dev/null || fail "del the ICMPv6 rule"
fw_udp_send 5454 imported-5454
sleep 0.5
grep -q imported-5454 "$FW_WORK/udp5454.log" || fail "imported: UDP 5454 (default accept) did not pass"
fw export >"$FW_WORK/exported.txt" || fail "export"
cmp -s "$FW_WORK/qubes.txt" "$FW_WORK/exported.txt" ||
	fail "export differs from the import: $(diff "$FW_WORK/qubes.txt" "$FW_WORK/exported.txt" | tr '\n' ' ')"
gen=$(fw -j list | sed -n 's/.*"generation": "\([0-9]*\)".*/\1/p')
printf 'action=accept proto=tcp\naction=drop dstports=80\naction=drop dsthost=-x.example\n' >"$FW_WORK/bad.txt"
out=$(fw import "$FW_WORK/bad.txt" 2>&1) && fail "a list with mistakes was imported"
case $out in *"bad.txt:2:13: dstports= needs proto=tcp"*"bad.txt:3:13: dsthost=-x.example"*) ;;
*) fail "bad list: $out" ;; esac
gen2=$(fw -j list | sed -n 's/.*"generation": "\([0-9]*\)".*/\1/p')
[ "$gen2" = "$gen" ] || fail "a refused import changed the generation ($gen to $gen2)"
fw_ping_ok 2 && fail "after the refused import: ICMP echo passed"
echo "import: ICMP type 8 dropped (ICMPv6 echo passes until type 128 is), TCP 8080 over both families and UDP pass; export gave the list back; a bad list changed nothing"

# 8. the guest is known by its interface, not the source it claims: with
#    everything accepted, a connection from an address outside its network
#    (IPv4 10.99.7.7, IPv6 fd99:7::7, each added to its own NIC) is dropped
#    and logged as spoofed, while its own addresses still pass
fw_g ip addr add 10.99.7.7/32 dev "$FW_TAP_G" && fw_g ip addr add fd99:7::7/128 dev "$FW_TAP_G" nodad ||
	fail "spoof: cannot add the guest's extra addresses"
events0=$(fw -j status | sed -n 's/.*"logEvents": "\([0-9]*\)".*/\1/p')
spoofed() { # ADDRESS-FOR-SOCAT BIND
	[ "$(fw_g timeout 5 socat -T 3 - "$1,bind=$2,connect-timeout=3" </dev/null 2>/dev/null)" = "" ]
}
spoofed "TCP:$FW_UP_IP:8080" 10.99.7.7 || fail "spoof: TCP from 10.99.7.7 passed"
spoofed "TCP6:[$FW_UP_IP6]:8080" "[fd99:7::7]" || fail "spoof: TCP from fd99:7::7 passed"
fw_tcp_ok || fail "spoof: the guest's own IPv4 address no longer passes"
fw_tcp6_ok || fail "spoof: the guest's own IPv6 address no longer passes"
events1=$(fw -j status | sed -n 's/.*"logEvents": "\([0-9]*\)".*/\1/p')
[ "${events1:-0}" -gt "${events0:-0}" ] || fail "spoof: no drop event logged (${events0:-?} then ${events1:-?})"
spoofs=$(fw -j counters | tr -d ' \n' | sed -n 's/.*"spoofRefused":{"packets":"\([0-9]*\)".*/\1/p')
[ "${spoofs:-0}" -ge 2 ] || fail "spoof: the spoof counter says ${spoofs:-nothing}"
echo "spoof: sources 10.99.7.7 and fd99:7::7 from the guest dropped, counted ($spoofs packets) and logged ($((events1 - events0)) events); its own pass"

# The daemon never crashed (vapp-init would have restarted it) and, in a
# SAN=1 build, the sanitizers reported nothing.
grep -aq 'vapp-init: daemon exited' "$FW_RUN/console.log" && fail "the daemon exited: $(grep -a 'daemon exited' "$FW_RUN/console.log")"
grep -aq 'Sanitizer\|runtime error' "$FW_RUN/console.log" && fail "a sanitizer report on the console"
echo "firewall_traffic: passed in $(( $(date +%s) - start )) s"
