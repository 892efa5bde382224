#!/bin/bash
# bench_fw_guests.sh - the firewall in front of three guests
# (manifest-guests.yaml, QEMU TCG), figures appended to the --json FILE:
#
#   fw_guests_forward_1000_rules_mbps  iperf3 alice -> uplink (3 s) with 1,000
#                              rules in each of the three guests' rulesets
#                              (alice's: 999 that do not match, then the
#                              accept); baseline: the same VM with empty
#                              rulesets; the two alternate, 3 rounds, medians
#   fw_replace_1000_rules_ms   vapp-fw -g alice replace of 1,000 rules while bob
#                              and carol hold 1,000 each (median of 3; the whole
#                              table, 3,000 rules, goes in one transaction);
#                              baseline: the same replace with 10 rules
#   fw_dns_refresh_ms          a DNS-named rule's address changed at the resolver
#                              (dnsmasq in the uplink namespace, TTL 2 s) until
#                              the new one is in force (ListRules), median of 3;
#                              baseline: the TTL
#
# Under TCG every figure is the emulator's. Needs root; bounded by
# $FW_BENCH_LIMIT seconds (default 400).
set -u
cd "${TOP:-$(dirname "$0")/../../../..}"
BUILD=${BUILD:-build}
json=
[ "${1:-}" = --json ] && json=${2:-}
limit=${FW_BENCH_LIMIT:-400}
start=$(date +%s)
. tests/lib/guest.sh
FW_MANIFEST=appliances/firewall/manifest-guests.yaml
. appliances/firewall/tests/lib/fw_rig.sh
. tests/lib/bench_emit.sh

fw_rig_init
case $? in
0) ;;
77) echo "bench_fw_guests: skipped: $FW_SKIP"; exit 0 ;;
*) echo "bench_fw_guests: the image did not build"; exit 1 ;;
esac
fw_ns_up || exit 1
fw_servers_up
fw_vm_start && fw_vm_wait_ready 120 || { echo "the firewall did not start forwarding"; exit 1; }

iperf() { # Mbit/s of a 3 s TCP run alice -> uplink
	fw_g timeout 30 iperf3 -c "$FW_UP_IP" -p 5201 -t 3 -J 2>/dev/null |
		awk -F'[:,]' '/"sum_received"/ { f = 1 } f && /"bits_per_second"/ { printf "%.2f", $2 / 1e6; exit }'
}
# rules N GUEST_NET FILE: N-1 drops that never match, then an accept of iperf3.
rules() {
	{
		printf '{ "rules": ['
		for i in $(seq 1 $(($1 - 1))); do
			printf '{ "protocol": "PROTOCOL_TCP", "destination": "198.%d.%d.0/24", "portMin": %d, "action": "ACTION_DROP" },' \
				$((18 + i / 256 % 2)) $((i % 256)) $((1000 + i))
		done
		printf '{ "protocol": "PROTOCOL_TCP", "destination": "%s", "portMin": 5201, "action": "ACTION_ACCEPT" }' "$FW_UP_IP"
		printf '], "defaultPolicy": "ACTION_DROP" }\n'
	} >"$2"
}
# Milliseconds one replace of FILE for guest G takes, as the caller sees it.
replace_ms() {
	local t0=$(date +%s%N)
	fw -t 120000 -g "$1" replace "$2" >/dev/null || { echo "replace for $1 failed" >&2; return 1; }
	echo $(( ($(date +%s%N) - t0) / 1000000 ))
}

rules 1000 "$FW_WORK/r1000.json"
rules 10 "$FW_WORK/r10.json"
printf '{ "rules": [], "defaultPolicy": "ACTION_ACCEPT" }\n' >"$FW_WORK/r0.json"
# all FILE: every guest's ruleset replaced by FILE
all() {
	local g t0
	for g in bob carol alice; do
		t0=$(date +%s%N)
		fw -t 120000 -g "$g" replace "$1" >/dev/null || { echo "$1 for $g failed"; return 1; }
		echo "  $(basename "$1") for $g: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
	done
}
# Empty and full alternate, three rounds: the medians are compared.
empty=() full=()
for round in 1 2 3; do
	all "$FW_WORK/r0.json" || exit 1
	empty+=("$(iperf)")
	all "$FW_WORK/r1000.json" || exit 1
	n=$(fw -g carol -j list | grep -c '"id"')
	[ "$n" = 1000 ] || { echo "carol's ruleset has $n rules, not 1000"; exit 1; }
	full+=("$(iperf)")
	echo "round $round: empty ${empty[-1]} Mbit/s, 3x1000 rules ${full[-1]} Mbit/s"
done
[ "$(echo ${empty[*]} | wc -w)" = 3 ] && [ "$(echo ${full[*]} | wc -w)" = 3 ] ||
	{ echo "iperf3 gave no figure (empty '${empty[*]}', 3x1000 rules '${full[*]}')"; exit 1; }
bench_emit fw_guests_forward_1000_rules_mbps "${full[*]}" Mbit/s "${empty[*]}"

big=() small=()
for i in 1 2 3; do
	[ "$(( limit - ($(date +%s) - start) ))" -gt 60 ] || break
	big+=("$(replace_ms alice "$FW_WORK/r1000.json")") || exit 1
	small+=("$(replace_ms alice "$FW_WORK/r10.json")") || exit 1
done
echo "replace 1000 rules: ${big[*]} ms; 10 rules: ${small[*]} ms"
bench_emit fw_replace_1000_rules_ms "${big[*]}" ms "${small[*]}"
# DNS: how long after the name's address changes at the resolver (dnsmasq,
# TTL 2 s) the new address is in force, median of 3; baseline the TTL.
if command -v dnsmasq >/dev/null; then
	echo "$FW_UP_IP web.test" >"$FW_WORK/hosts"
	chmod 644 "$FW_WORK/hosts"
	ip netns exec "$FW_NS_U" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
		--addn-hosts="$FW_WORK/hosts" --local-ttl=2 --listen-address=$FW_UP_IP --bind-interfaces \
		--pid-file="$FW_WORK/dnsmasq.pid" >/dev/null 2>&1 &
	FW_SERVER_PIDS+=($!)
	dns_pid=$!
	printf '{ "rules": [ { "protocol": "PROTOCOL_TCP", "host": "web.test", "action": "ACTION_ACCEPT" } ], "defaultPolicy": "ACTION_DROP" }\n' \
		>"$FW_WORK/dns.json"
	fw -g bob replace "$FW_WORK/dns.json" >/dev/null || { echo "the DNS-named rule failed"; exit 1; }
	for _ in $(seq 100); do fw -g bob list 2>/dev/null | grep -q "web.test \[$FW_UP_IP\]" && break; sleep 0.1; done
	refresh=()
	for i in 3 4 5; do
		echo "10.99.1.$i web.test" >"$FW_WORK/hosts"
		kill -HUP "$dns_pid"
		t0=$(date +%s%N)
		until fw -g bob list 2>/dev/null | grep -q "web.test \[10.99.1.$i\]"; do
			[ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 15000 ] || { echo "10.99.1.$i never came in force"; exit 1; }
			sleep 0.05
		done
		refresh+=($(( ($(date +%s%N) - t0) / 1000000 )))
	done
	echo "DNS refresh: ${refresh[*]} ms"
	bench_emit fw_dns_refresh_ms "${refresh[*]}" ms 2000
else
	echo "note: no dnsmasq; fw_dns_refresh_ms not measured"
fi
fw_vm_kill
echo "bench_fw_guests: done in $(( $(date +%s) - start )) s"
