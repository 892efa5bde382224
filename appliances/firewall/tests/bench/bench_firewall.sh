#!/bin/bash
# bench_firewall.sh - the firewall appliance's figures, appended to
# the --json FILE as one JSON object a line, like the C benchmarks:
#
#   fw_image_bytes             kernel + initramfs (baseline: the
#                              builder's 16 MiB budget)
#   fw_boot_to_ready_ms        QEMU start to "forwarding" (ruleset in force,
#                              ip_forward on), median of 3 boots, TCG
#   fw_ram_floor_mib           the least -m that still boots to forwarding,
#                              forwards a TCP exchange, then a 3 s iperf3
#                              stream at full speed, and still forwards after
#                              it (bisected, 4 MiB steps)
#   fw_forward_100_rules_mbps  iperf3 guest -> uplink through the VM with 100
#                              rules (99 that do not match, then the accept),
#                              baseline: the same VM, empty ruleset, same run
#
# for manifest.yaml (the project's small kernel), and as fw_stock_* for
# manifest-stock.yaml (Debian's cloud kernel).
#
# Under TCG every figure is a TCG figure: throughput is the emulator's, not
# netfilter's. Needs root (namespaces, taps); without it, says why and
# records nothing. Bounded by $FW_BENCH_LIMIT seconds (default 900).
set -u
cd "${TOP:-$(dirname "$0")/../../../..}"
BUILD=${BUILD:-build}
json=
[ "${1:-}" = --json ] && json=${2:-}
limit=${FW_BENCH_LIMIT:-900}
start=$(date +%s)
. tests/lib/guest.sh
. appliances/firewall/tests/lib/fw_rig.sh

left() { local l=$(( limit - ($(date +%s) - start) )); echo $(( l > 0 ? l : 1 )); }
. tests/lib/bench_emit.sh

fw_rig_init
case $? in
0) ;;
77) echo "bench_firewall: skipped: $FW_SKIP"; exit 0 ;;
*) echo "bench_firewall: the image did not build"; exit 1 ;;
esac
fw_ns_up || exit 1
fw_servers_up

# One boot at MEM MiB: 0 when it forwards a TCP exchange, a full-speed
# stream, and a TCP exchange after it (a VM that boots but runs out of
# memory under load does not count). Sets FW_READY_MS.
boot_ok() {
	local ok=1
	fw_state_new
	fw_vm_start "$1" || { fw_vm_kill; return 1; }
	if fw_vm_wait_ready 90 && fw_tcp_ok 10 &&
		fw_g timeout 30 iperf3 -c "$FW_UP_IP" -p 5201 -t 3 >/dev/null 2>&1 &&
		kill -0 "$FW_PID" 2>/dev/null && fw_tcp_ok 10; then ok=0; fi
	fw_vm_kill
	return $ok
}

measure() { # PREFIX: the figures of the image in $FW_IMG, named PREFIX_...
	local pfx=$1
	kb=$(stat -c %s "$FW_IMG/kernel")
	ib=$(stat -c %s "$FW_IMG/initramfs")
	echo "image: kernel $kb + initramfs $ib bytes (budget $((16 << 20)))"
	# Baselines are the limits: the builder's 16 MiB image budget, and the
	# 48 MiB of guest memory the default image is meant to fit.
	bench_emit ${pfx}_image_bytes $((kb + ib)) bytes $((16 * 1024 * 1024))

	mem=$(image_mem "$FW_IMG")
	times=()
	for i in 1 2 3; do
		boot_ok "$mem" || { echo "boot $i at $mem MiB failed"; tail -n 5 "$FW_RUN/console.log"; return 1; }
		times+=("$FW_READY_MS")
		echo "boot $i: QEMU start to forwarding in $FW_READY_MS ms"
	done
	bench_emit ${pfx}_boot_to_ready_ms "${times[*]}" ms

	# RAM floor: lo fails (or is the bottom), hi boots.
	lo=16 hi=$mem
	while [ $((hi - lo)) -gt 4 ] && [ "$(left)" -gt 120 ]; do
		mid=$(( (lo + hi) / 2 ))
		if boot_ok "$mid"; then
			echo "  $mid MiB: forwards"
			hi=$mid
		else
			echo "  $mid MiB: does not boot to forwarding ($(grep -a -m1 -o 'Out of memory\|Kernel panic[^\r]*' "$FW_RUN/console.log" || echo 'no ready'))"
			lo=$mid
		fi
	done
	bench_emit ${pfx}_ram_floor_mib "$hi" MiB 48

	# Throughput: empty ruleset, then 100 rules, in one boot.
	fw_state_new
	fw_vm_start "$mem" && fw_vm_wait_ready 90 || { echo "throughput boot failed"; return 1; }
	iperf() { # prints Mbit/s of a 5 s TCP run guest -> uplink
		fw_g timeout 30 iperf3 -c "$FW_UP_IP" -p 5201 -t 5 -J 2>/dev/null |
			awk -F'[:,]' '/"sum_received"/ { f = 1 } f && /"bits_per_second"/ { printf "%.2f", $2 / 1e6; exit }'
	}
	empty=$(iperf)
	{
		printf '{ "rules": ['
		for i in $(seq 1 99); do
			printf '{ "protocol": "PROTOCOL_TCP", "destination": "198.51.%d.0/24", "portMin": %d, "action": "ACTION_DROP" },' \
				$((i % 256)) $((1000 + i))
		done
		printf '{ "protocol": "PROTOCOL_TCP", "destination": "%s", "portMin": 5201, "action": "ACTION_ACCEPT" }' "$FW_UP_IP"
		printf '], "defaultPolicy": "ACTION_DROP" }\n'
	} >"$FW_WORK/rules100.json"
	fw replace "$FW_WORK/rules100.json" >/dev/null || { echo "replace with 100 rules failed"; return 1; }
	n=$(fw -j list | grep -c '"id"')
	[ "$n" = 100 ] || { echo "the 100-rule ruleset has $n rules"; return 1; }
	full=$(iperf)
	fw_vm_kill
	[ -n "$empty" ] && [ -n "$full" ] || { echo "iperf3 gave no figure (empty '$empty', 100 rules '$full')"; return 1; }
	bench_emit ${pfx}_forward_100_rules_mbps "$full" Mbit/s "$empty"
}

measure fw || exit 1
# The same appliance on Debian's stock cloud kernel: figures named fw_stock_*.
FW_IMG=$FW_WORK/img-stock
timeout 300 "$FW_BUILD/bin/vapp" build -D "BUILD=$FW_BUILD" appliances/firewall/manifest-stock.yaml \
	-o "$FW_IMG" >"$FW_WORK/build-stock.log" 2>&1 || { cat "$FW_WORK/build-stock.log"; exit 1; }
echo "== the stock cloud kernel (manifest-stock.yaml)"
measure fw_stock || exit 1
echo "bench_firewall: done in $(( $(date +%s) - start )) s"
