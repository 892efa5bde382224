#!/bin/bash
# firewall_vappd.sh - the firewall appliance run by vappd, reached through
# vappd's broker:
#   - vappd runs the image (vapp run); guests "admin" (may call anything on
#     the firewall) and "viewer" (policy: ListRules only) reach it through
#     their gates; the rules are set through admin's gate and hold;
#   - viewer lists the rules but cannot add, replace, delete or set the
#     policy: PERMISSION_DENIED from the broker, and the ruleset is unchanged;
#   - QEMU is killed; vappd restarts it with the same state volume; a packet
#     stream sent from the guest side all through the restart shows that no
#     denied packet ever passed (nothing went through unfiltered while it
#     came up), that allowed ones pass again afterwards, and the same rules
#     (ids, generation) are in force, read from the state volume.
# Bounded by $FW_TEST_LIMIT seconds (default 500); vappd, QEMU, servers and
# namespaces are removed on exit, also on failure.
set -u
cd "${TOP:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
limit=${FW_TEST_LIMIT:-500}
start=$(date +%s)
. tests/lib/guest.sh
. appliances/firewall/tests/lib/fw_rig.sh
vapp=$BUILD/bin/vapp
vappd=$BUILD/bin/vappd
VAPPD_PID=
STREAM_PID=

fail() {
	echo "FAIL: $*"
	echo "--- vappd log (last 20 lines) ---"
	tail -n 20 "$FW_WORK/vappd.log" 2>/dev/null
	echo "--- console (last 20 lines) ---"
	tail -n 20 "$FW_WORK/run/$name/console.log" 2>/dev/null
	exit 1
}
left() { local l=$(( limit - ($(date +%s) - start) )); echo $(( l > 0 ? l : 1 )); }

[ -x "$vappd" ] || { echo "vappd is not built (runtime/vappd)"; exit 77; }
fw_rig_init
case $? in 0) ;; 77) echo "$FW_SKIP"; exit 77 ;; *) fail "the firewall image did not build" ;; esac
name=fw$$
# vappd names an appliance's taps vp<name>n<index>, in qemu.args order.
FW_TAP_U=vp${name:0:8}n0
FW_TAP_G=vp${name:0:8}n1
stop_all() {
	[ -n "$STREAM_PID" ] && kill "$STREAM_PID" 2>/dev/null
	if [ -n "$VAPPD_PID" ]; then
		kill "$VAPPD_PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$VAPPD_PID" 2>/dev/null || break; sleep 0.2; done
		kill -9 "$VAPPD_PID" 2>/dev/null
	fi
	for p in $(cat "$FW_WORK/qemu.pids" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
}
guest_on_exit stop_all
fw_ns_up || fail "network namespaces"
fw_servers_up

admin() { timeout 30 "$BUILD/bin/vapp-fw" -c "unix:$FW_WORK/run/guests/admin.sock" "$@"; }
viewer() { timeout 30 "$BUILD/bin/vapp-fw" -c "unix:$FW_WORK/run/guests/viewer.sock" "$@"; }
export VAPPD_SOCKET=$FW_WORK/vappd.sock

cat >"$FW_WORK/policy" <<EOF
vapp.firewall.v1.Firewall admin $name allow
vapp.firewall.v1.Firewall.ListRules viewer $name allow
EOF
"$vapp" policy check "$FW_WORK/policy" || fail "the test's policy does not check"
"$vappd" --foreground --socket "$VAPPD_SOCKET" --run-dir "$FW_WORK/run" \
	--state-dir "$FW_WORK/state" --trust-image-key --accel tcg --boot-timeout 120 \
	--policy "$FW_WORK/policy" --guest admin --guest viewer >"$FW_WORK/vappd.log" 2>&1 &
VAPPD_PID=$!
for _ in $(seq 50); do [ -S "$VAPPD_SOCKET" ] && break; sleep 0.1; done
[ -S "$VAPPD_SOCKET" ] || fail "vappd did not make its socket"

# 1. vapp run; its taps go into the namespaces as soon as QEMU makes them
t0=$(date +%s%N)
timeout "$(left)" "$vapp" run --name "$name" "$FW_IMG" >"$FW_WORK/run.out" 2>&1 &
runpid=$!
fw_taps_in 60 || fail "the appliance's taps did not appear"
wait $runpid || fail "vapp run: $(cat "$FW_WORK/run.out")"
head -n 1 "$FW_WORK/run.out"
echo "vapp run: ready after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
vappd_qemu_pid "$name" >>"$FW_WORK/qemu.pids"

# 2. rules through admin's gate: drop UDP 5454 and ICMP, accept the rest
cat >"$FW_WORK/rules.json" <<EOF
{ "rules": [
    { "protocol": "PROTOCOL_UDP", "portMin": 5454, "action": "ACTION_DROP" },
    { "protocol": "PROTOCOL_ICMP", "destination": "10.99.1.0/24", "action": "ACTION_DROP" },
    { "protocol": "PROTOCOL_TCP", "destination": "$FW_UP_IP", "portMin": 8080, "action": "ACTION_ACCEPT" }
  ],
  "defaultPolicy": "ACTION_ACCEPT" }
EOF
admin replace "$FW_WORK/rules.json" || fail "admin: replace"
admin -j list >"$FW_WORK/before.json" || fail "admin: list"
fw_tcp_ok 10 || fail "TCP 8080 did not pass"
fw_ping_ok && fail "ICMP passed a drop rule"
fw_udp_send 5454 before-restart
fw_udp_send 5353 allowed-before
sleep 0.5
grep -q before-restart "$FW_WORK/udp5454.log" 2>/dev/null && fail "UDP 5454 passed a drop rule"
grep -q allowed-before "$FW_WORK/udp5353.log" 2>/dev/null || fail "UDP 5353 did not pass"
echo "rules in force through the broker: TCP and UDP 5353 pass, ICMP and UDP 5454 dropped"

# 3. policy: viewer may only list
viewer -j list >"$FW_WORK/viewer.json" || fail "viewer: ListRules was refused"
cmp -s "$FW_WORK/viewer.json" "$FW_WORK/before.json" || fail "viewer saw other rules than admin"
denied() { # what it tried, then the vapp-fw arguments
	local what=$1 out
	shift
	out=$(viewer "$@" 2>&1) && fail "viewer could $what"
	case $out in *PERMISSION_DENIED*) echo "viewer $what: $out" ;;
	*) fail "viewer $what: not PERMISSION_DENIED: $out" ;; esac
}
denied "add a rule" add accept proto udp port 5454 before 1
denied "replace the ruleset" replace "$FW_WORK/rules.json"
denied "delete a rule" del 1
denied "set the policy" policy drop
admin -j list >"$FW_WORK/after-policy.json" || fail "admin: list"
cmp -s "$FW_WORK/after-policy.json" "$FW_WORK/before.json" || fail "the ruleset changed"
fw_udp_send 5454 after-viewer
sleep 0.5
grep -q after-viewer "$FW_WORK/udp5454.log" && fail "UDP 5454 passes after viewer's attempts"

# 4. kill QEMU while the guest side sends: vappd restarts it
stream() { # a datagram to each port every 50 ms until $FW_WORK/stop
	local i=0
	while [ ! -e "$FW_WORK/stop" ] && [ $i -lt 4000 ]; do
		echo "stream-$i" | ip netns exec "$FW_NS_G" socat -u - UDP-SENDTO:$FW_UP_IP:5454 2>/dev/null
		echo "stream-$i" | ip netns exec "$FW_NS_G" socat -u - UDP-SENDTO:$FW_UP_IP:5353 2>/dev/null
		i=$((i + 1))
		sleep 0.05
	done
}
stream &
STREAM_PID=$!
sleep 1
pid1=$(vappd_qemu_pid "$name")
[ -n "$pid1" ] || fail "no QEMU pid in vapp ps"
last_before=$(grep -c stream- "$FW_WORK/udp5353.log")
[ "$last_before" -gt 0 ] || fail "the stream's allowed datagrams did not pass before the restart"
kill -9 "$pid1"
t_kill=$(date +%s%N)
fw_taps_in 90 || fail "the restarted appliance's taps did not appear"
p=$(vappd_wait_restarted "$name" "$pid1" 120) || fail "vappd did not restart the appliance: $("$vapp" ps)"
echo "$p" >>"$FW_WORK/qemu.pids"
# Forwarding resumes: allowed stream datagrams arrive again.
resumed=
for _ in $(seq 300); do
	if [ "$(grep -c stream- "$FW_WORK/udp5353.log")" -gt $((last_before + 5)) ]; then
		resumed=$(( ($(date +%s%N) - t_kill) / 1000000 ))
		break
	fi
	sleep 0.1
done
touch "$FW_WORK/stop"
wait "$STREAM_PID"
STREAM_PID=
[ -n "$resumed" ] || fail "the allowed stream did not pass after the restart"
sent=$(grep -c stream- "$FW_WORK/udp5353.log")
echo "restart: QEMU $pid1 -> $p; allowed datagrams pass again $resumed ms after the kill"
n=$(grep -c stream- "$FW_WORK/udp5454.log" 2>/dev/null)
[ "${n:-0}" = 0 ] || fail "$n denied datagrams passed around the restart"
echo "no denied datagram passed during the restart ($sent allowed ones arrived in all)"
grep -aq 'ruleset in force (3 rules, default accept, from state volume)' \
	"$FW_WORK/run/$name/console.log" || fail "the restarted daemon did not load the state volume"
grep -aq 'vapp-firewalld: guest: ruleset in force' "$FW_WORK/run/$name/console.log" &&
	awk '/ruleset in force/ { r = NR } /vapp-firewalld: forwarding / { f = NR } END { exit !(r && f && r < f) }' \
		"$FW_WORK/run/$name/console.log" || fail "forwarding was not switched on after the ruleset"

# 5. the same rules, through the broker's new upstream
admin -j list >"$FW_WORK/after.json" || fail "admin: list after the restart"
cmp -s "$FW_WORK/after.json" "$FW_WORK/before.json" ||
	fail "the rules differ after the restart: $(diff "$FW_WORK/before.json" "$FW_WORK/after.json")"
out=$(admin status) || fail "admin: status"
case $out in *"ruleset from state volume"*) ;; *) fail "status after the restart: $out" ;; esac
fw_ping_ok && fail "ICMP passes after the restart"
fw_tcp_ok || fail "TCP 8080 does not pass after the restart"
echo "the same rules hold after the restart (ids, generation, traffic)"
# The daemon never crashed (a killed QEMU is not a daemon exit) and, in a
# SAN=1 build, the sanitizers reported nothing.
grep -aq 'vapp-init: daemon exited' "$FW_WORK/run/$name/console.log" && fail "the daemon exited: $(grep -a 'daemon exited' "$FW_WORK/run/$name/console.log")"
grep -aq 'Sanitizer\|runtime error' "$FW_WORK/run/$name/console.log" && fail "a sanitizer report on the console"
echo "firewall_vappd: passed in $(( $(date +%s) - start )) s"
