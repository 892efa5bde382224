#!/bin/bash
# firewall_guests.sh - one firewall appliance in front of three guests
# (manifest-guests.yaml: alice, bob, carol), run by vappd under QEMU (TCG),
# each guest a network namespace on its own tap, with real packets:
#   - vappd names each guest's tap after the guest (NAME-alice ...);
#   - each guest has its own ruleset: alice accepts all, bob only TCP 8080
#     out, carol nothing; each guest's traffic meets its own rules only;
#   - guests are kept apart: alice cannot reach bob's server until a rule of
#     hers names bob's network; bob still cannot reach alice;
#   - spoofing: bob claiming alice's address, and carol sending IPv6 (she
#     has no IPv6 network), are dropped before any rule, counted as that
#     guest's, and logged to a watcher of that guest;
#   - the RPC names the guest: none named with three guests is refused, an
#     unknown one is NOT_FOUND; alice through her own gate sees her own
#     rules, and naming bob is PERMISSION_DENIED;
#   - a rule by DNS name (dnsmasq in the uplink namespace, TTL 2 s): its
#     address in force, the address changed while a flow is open (the flow
#     goes on, new flows follow the new address), then the name gone (the
#     rule opens nothing); the special target DNS lets carol reach the
#     appliance's DNS server and nothing else;
#   - a port forward from the uplink to bob: none by default, on, off; one to
#     another guest's address, or of a port another guest has, refused;
#   - expiry: a rule of carol's for 6 s works, then goes by itself (logged),
#     and a deadline already past is refused;
#   - a router advertisement from alice (herself as router, a prefix): the
#     appliance takes no address from it, and IPv6 of alice and bob goes on.
# Bounded by $FW_TEST_LIMIT seconds (default 300); QEMU, vappd, servers and
# namespaces are removed on exit, also on failure.
set -u
cd "${TOP:-$(dirname "$0")/../../../..}"
BUILD=${BUILD:-build}
limit=${FW_TEST_LIMIT:-300}
start=$(date +%s)
. tests/lib/guest.sh
FW_MANIFEST=appliances/firewall/manifest-guests.yaml
. appliances/firewall/tests/lib/fw_rig.sh

fail() {
	echo "FAIL: $*"
	echo "--- console (last 30 lines) ---"
	tail -n 30 "$FW_RUN/console.log" 2>/dev/null
	echo "--- vappd (last 15 lines) ---"
	tail -n 15 "$FW_WORK/vappd.log" 2>/dev/null
	exit 1
}
left() { local l=$(( limit - ($(date +%s) - start) )); echo $(( l > 0 ? l : 1 )); }
[ -x "$BUILD/bin/vappd" ] || { echo "build $BUILD/bin/vappd first (make)"; exit 77; }

fw_rig_init
case $? in 0) ;; 77) echo "$FW_SKIP"; exit 77 ;; *) fail "the firewall image did not build" ;; esac
NS_B=fwb$$
NS_C=fwc$$
FW_NS_MORE=("$NS_B" "$NS_C")
fw_ns_up || fail "network namespaces"
ip netns add "$NS_B" && ip netns add "$NS_C" || fail "network namespaces"
fw_servers_up
# bob serves TCP 9000 (to be reached from alice only once a rule says so).
ip netns exec "$NS_B" socat -T 5 TCP-LISTEN:9000,reuseaddr,fork SYSTEM:'echo bob' >/dev/null 2>&1 &
FW_SERVER_PIDS+=($!)

# The name is cut to 6 in tap names: keep it short and this run's own.
name=fg$(( $$ % 10000 ))
cat >"$FW_WORK/policy" <<EOF
vapp.firewall.v1.Firewall tester $name allow
vapp.firewall.v1.Firewall.ListRules alice $name allow
vapp.firewall.v1.Firewall.GetCounters alice $name allow
vapp.firewall.v1.Firewall.WatchLog alice $name allow
EOF
FW_GUEST_NIC=alice
fw_vappd_run "$name" "$FW_WORK/policy" tester alice || fail "vappd could not run the firewall"
echo "ready: vapp run returned after $FW_READY_MS ms"
TAP_B=${name:0:6}-bob
TAP_C=${name:0:6}-carol
fw_take_tap "$TAP_B" "$NS_B" 10.99.3.2 10 fd99:3::2 || fail "bob's tap $TAP_B"
fw_take_tap "$TAP_C" "$NS_C" 10.99.4.2 10 || fail "carol's tap $TAP_C"
ip -n "$NS_B" route replace default via 10.99.3.1
ip -n "$NS_B" -6 route replace default via fd99:3::1
ip -n "$NS_C" route replace default via 10.99.4.1
echo "taps named after their guests: $FW_TAP_G, $TAP_B, $TAP_C"

fw() { timeout 30 "$BUILD/bin/vapp-fw" -c "unix:$FW_WORK/run/guests/tester.sock" "$@"; }
as_alice() { timeout 30 "$BUILD/bin/vapp-fw" -c "unix:$FW_WORK/run/guests/alice.sock" "$@"; }
in_b() { ip netns exec "$NS_B" "$@"; }
in_c() { ip netns exec "$NS_C" "$@"; }
# TCP to HOST:PORT from namespace NS; @return 0 when the answer was WORD.
tcp_answer() { [ "$(ip netns exec "$1" timeout 5 socat -T 3 - "TCP:$2,connect-timeout=3" </dev/null 2>/dev/null)" = "$3" ]; }
# A counter of guest G from `counters -j`: FIELD's packets, 0 when absent.
count_of() {
	local n
	n=$(fw -g "$1" -j counters | tr -d ' \n' | sed -n "s/.*\"$2\":{\"packets\":\"\([0-9]*\)\".*/\1/p")
	echo "${n:-0}"
}

# 1. the RPC names the guest
out=$(fw status) || fail "status: $out"
case $out in *"guests: alice bob carol"*) ;; *) fail "status does not list the guests: $out" ;; esac
out=$(fw list 2>&1) && fail "list with no guest named, three guests: $out"
case $out in *INVALID_ARGUMENT*"guest: name one of alice, bob, carol"*) ;; *) fail "no guest named: $out" ;; esac
out=$(fw -g dave list 2>&1) && fail "list for an unknown guest: $out"
case $out in *NOT_FOUND*dave*) ;; *) fail "unknown guest: $out" ;; esac
echo "RPC: no guest named and an unknown guest are refused with the reason"

# 2. rulesets of their own: bob TCP 8080 out only, carol nothing
cat >"$FW_WORK/bob.json" <<EOF
{ "rules": [
    { "protocol": "PROTOCOL_TCP", "portMin": 8080, "action": "ACTION_ACCEPT", "comment": "web" }
  ],
  "defaultPolicy": "ACTION_DROP" }
EOF
fw -g bob replace "$FW_WORK/bob.json" >/dev/null || fail "bob's ruleset"
fw -g carol policy drop >/dev/null || fail "carol's policy"
fw -g bob list | grep -q "# web" || fail "bob's rules: $(fw -g bob list)"
fw -g alice list | grep -q "# web" && fail "bob's rule shows in alice's list"
fw_tcp_ok 10 || fail "alice: TCP out did not pass"
tcp_answer "$NS_B" "$FW_UP_IP:8080" pong || fail "bob: TCP 8080 out did not pass"
tcp_answer "$NS_C" "$FW_UP_IP:8080" pong && fail "carol: TCP 8080 passed her drop policy"
echo marker-bob | in_b socat -u - UDP-SENDTO:$FW_UP_IP:5454 2>/dev/null
fw_udp_send 5454 marker-alice
sleep 0.5
grep -q marker-alice "$FW_WORK/udp5454.log" 2>/dev/null || fail "alice: UDP did not pass"
grep -q marker-bob "$FW_WORK/udp5454.log" 2>/dev/null && fail "bob: UDP passed his drop policy"
echo "each guest meets its own rules: alice all, bob TCP 8080 only, carol nothing"

# 3. guests kept apart, until a rule names the other
g0=$(count_of alice guestRefused)
tcp_answer "$FW_NS_G" 10.99.3.2:9000 bob && fail "alice reached bob with no rule naming him"
g1=$(count_of alice guestRefused)
[ "$g1" -gt "$g0" ] || fail "alice's guest_refused did not rise ($g0 -> $g1)"
fw -g alice add accept proto tcp to 10.99.3.0/24 port 9000 comment "bob's service" >/dev/null ||
	fail "alice's rule to bob"
tcp_answer "$FW_NS_G" 10.99.3.2:9000 bob || fail "alice's rule naming bob did not let her reach him"
in_b ping -c 1 -W 2 10.99.2.2 >/dev/null 2>&1 && fail "bob reached alice: her rule opened his way too"
echo "guests apart: alice reaches bob only by her rule naming him ($g0 -> $g1 refused); bob still not alice"

# 4. spoofing: bob as alice (IPv4), carol with IPv6 she has no network of
as_alice -n 1 -t $(( $(left) * 1000 )) log >"$FW_WORK/alice.log" 2>&1 &
alice_log=$!
fw -g bob -n 1 -t 20000 log >"$FW_WORK/bob.log" 2>&1 &
bob_log=$!
sleep 1
sa0=$(count_of alice spoofRefused)
sb0=$(count_of bob spoofRefused)
ip -n "$NS_B" addr add 10.99.2.2/32 dev "$TAP_B"
echo spoof-bob | in_b socat -u - UDP-SENDTO:$FW_UP_IP:8080,bind=10.99.2.2 2>/dev/null
tcp_answer "$NS_B" "$FW_UP_IP:8080,bind=10.99.2.2" pong && fail "bob, as alice, got TCP through"
sb1=$(count_of bob spoofRefused)
sa1=$(count_of alice spoofRefused)
[ "$sb1" -gt "$sb0" ] || fail "bob's spoof_refused did not rise ($sb0 -> $sb1)"
[ "$sa1" = "$sa0" ] || fail "bob's spoofing counted as alice's ($sa0 -> $sa1)"
wait $bob_log || fail "bob's log watcher: $(cat "$FW_WORK/bob.log")"
grep -q "drop spoof .*10.99.2.2.* guest bob" "$FW_WORK/bob.log" || fail "bob's log: $(cat "$FW_WORK/bob.log")"
ip -n "$NS_C" addr add fd99:4::2/64 dev "$TAP_C" nodad
ip -n "$NS_C" -6 neigh replace fd99:4::1 lladdr 52:54:00:f1:00:04 dev "$TAP_C"
ip -n "$NS_C" -6 route replace default via fd99:4::1 dev "$TAP_C"
sc0=$(count_of carol spoofRefused)
echo spoof-carol | in_c socat -u - "UDP6-SENDTO:[$FW_UP_IP6]:5454" 2>/dev/null
sleep 0.5
sc1=$(count_of carol spoofRefused)
[ "$sc1" -gt "$sc0" ] || fail "carol's IPv6 was not dropped as spoofed ($sc0 -> $sc1)"
grep -q spoof-carol "$FW_WORK/udp5454.log" 2>/dev/null && fail "carol's IPv6 reached the uplink"
# alice's watcher saw none of it: her own stream, and nothing of hers dropped.
kill -0 $alice_log 2>/dev/null || fail "alice's log watcher ended: $(cat "$FW_WORK/alice.log")"
kill $alice_log 2>/dev/null
wait $alice_log 2>/dev/null
grep -q "drop" "$FW_WORK/alice.log" && fail "alice's watcher saw another guest's drops: $(cat "$FW_WORK/alice.log")"
echo "spoofing dropped as the sender's: bob as alice ($sb0 -> $sb1), carol's IPv6 ($sc0 -> $sc1)"

# 5. a guest through its own gate: its own rules, and only those
out=$(as_alice list) || fail "alice: list: $out"
case $out in *"bob's service"*) ;; *) fail "alice's own list: $out" ;; esac
out=$(as_alice -g bob list 2>&1) && fail "alice listed bob's rules: $out"
case $out in *PERMISSION_DENIED*"alice may name only itself"*) ;; *) fail "alice naming bob: $out" ;; esac
out=$(as_alice counters) || fail "alice: counters: $out"
out=$(as_alice add drop proto udp 2>&1) && fail "alice changed her rules, the policy allows her no AddRule"
case $out in *PERMISSION_DENIED*) ;; *) fail "alice: add: $out" ;; esac
echo "alice's gate: her own rules and counters; bob's refused by the appliance, AddRule by the policy"

# 6. a rule by DNS name: dnsmasq in the uplink namespace answers web.test
# (TTL 2 s); its address changes while a flow to the old one is open
echo "$FW_UP_IP web.test" >"$FW_WORK/hosts"
chmod 644 "$FW_WORK/hosts"
ip -n "$FW_NS_U" addr add 10.99.1.3/24 dev "$FW_TAP_U"
ip netns exec "$FW_NS_U" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
	--addn-hosts="$FW_WORK/hosts" --local-ttl=2 --listen-address=$FW_UP_IP --bind-interfaces \
	--pid-file="$FW_WORK/dnsmasq.pid" --log-facility=- >"$FW_WORK/dnsmasq.log" 2>&1 &
DNS_PID=$!
FW_SERVER_PIDS+=($DNS_PID)
ip netns exec "$FW_NS_U" socat -T 20 TCP-LISTEN:8081,reuseaddr,fork SYSTEM:'echo first; sleep 6; echo second' \
	>/dev/null 2>&1 &
FW_SERVER_PIDS+=($!)
# Waits up to $2 s until bob's list shows $1 (a pattern); prints the ms it took.
wait_list() {
	local t0=$(date +%s%N)
	for _ in $(seq $(( $2 * 5 ))); do
		fw -g bob list 2>/dev/null | grep -q "$1" && { echo $(( ($(date +%s%N) - t0) / 1000000 )); return 0; }
		sleep 0.2
	done
	return 1
}
cat >"$FW_WORK/bob-dns.json" <<EOF
{ "rules": [ { "protocol": "PROTOCOL_TCP", "host": "Web.Test", "action": "ACTION_ACCEPT" } ],
  "defaultPolicy": "ACTION_DROP" }
EOF
fw -g bob replace "$FW_WORK/bob-dns.json" >/dev/null || fail "bob's ruleset by name"
ms=$(wait_list "web.test \[$FW_UP_IP\]" 10) || fail "web.test did not resolve: $(fw -g bob list)"
echo "web.test resolved to $FW_UP_IP in $ms ms"
tcp_answer "$NS_B" "$FW_UP_IP:8080" pong || fail "bob: TCP to web.test's address did not pass"
tcp_answer "$NS_B" "10.99.1.3:8080" pong && fail "bob: TCP to an address web.test does not have passed"
{ sleep 9 | ip netns exec "$NS_B" timeout 15 socat -T 12 - "TCP:$FW_UP_IP:8081" >"$FW_WORK/flow.out" 2>&1; } &
flow=$!
sleep 1
echo "10.99.1.3 web.test" >"$FW_WORK/hosts"
kill -HUP "$DNS_PID"
ms=$(wait_list "web.test \[10.99.1.3\]" 12) || fail "web.test's new address did not come in force: $(fw -g bob list)"
echo "web.test's new address in force $ms ms after the change (TTL 2 s)"
tcp_answer "$NS_B" "10.99.1.3:8080" pong || fail "bob: TCP to web.test's new address did not pass"
tcp_answer "$NS_B" "$FW_UP_IP:8080" pong && fail "bob: TCP to web.test's old address still passed"
wait $flow
grep -q second "$FW_WORK/flow.out" || fail "the flow open across the change was cut: $(cat "$FW_WORK/flow.out")"
: >"$FW_WORK/hosts"
kill -HUP "$DNS_PID"
wait_list "web.test \[unresolved\]" 12 >/dev/null || fail "web.test gone from DNS still has addresses: $(fw -g bob list)"
tcp_answer "$NS_B" "10.99.1.3:8080" pong && fail "bob: a name that no longer resolves still opened"
echo "DNS-named rule: follows the address by TTL, an open flow survives, a name that does not resolve opens nothing"
# carol (default drop) reaches the appliance's DNS server only by the special target.
dns_tcp() { ip netns exec "$NS_C" timeout 5 socat -u /dev/null "TCP:$FW_UP_IP:53,connect-timeout=3" 2>/dev/null; }
dns_tcp && fail "carol reached the DNS server with no rule"
out=$(fw -g carol add accept special dns) || fail "carol's special DNS rule: $out"
dns_tcp || fail "carol: the special DNS target did not let her reach the appliance's DNS server"
tcp_answer "$NS_C" "$FW_UP_IP:8080" pong && fail "carol: the special DNS target opened port 8080 too"
fw -g carol del "${out##* }" >/dev/null || fail "carol: deleting her DNS rule"
echo "special target DNS: carol reaches the appliance's DNS server (port 53), nothing else"

# 7. port forwarding from the uplink: none by default, a guest's own only
tcp_answer "$FW_NS_U" "10.99.1.2:2222" bob && fail "the uplink reached bob with no port forward"
fwd_rules() { # FILE TO_ADDRESS PORT: a ruleset forwarding uplink TCP PORT to TO_ADDRESS:9000
	cat >"$1" <<EOF
{ "rules": [], "defaultPolicy": "ACTION_DROP",
  "forwards": [ { "protocol": "PROTOCOL_TCP", "port": $3, "toAddress": "$2", "toPort": 9000 } ] }
EOF
}
fwd_rules "$FW_WORK/bob-fwd.json" 10.99.3.2 2222
fw -g bob replace "$FW_WORK/bob-fwd.json" >/dev/null || fail "bob's port forward"
fw -g bob list | grep -q "forward tcp uplink port 2222 -> 10.99.3.2:9000" || fail "bob's list: $(fw -g bob list)"
tcp_answer "$FW_NS_U" "10.99.1.2:2222" bob || fail "the uplink did not reach bob through his port forward"
tcp_answer "$FW_NS_U" "10.99.1.2:2223" bob && fail "an uplink port nobody forwards reached bob"
fwd_rules "$FW_WORK/alice-fwd.json" 10.99.3.2 2223
out=$(fw -g alice replace "$FW_WORK/alice-fwd.json" 2>&1) && fail "alice forwarded a port to bob's address"
case $out in *INVALID_ARGUMENT*"not in guest alice's network"*) ;; *) fail "alice's forward to bob: $out" ;; esac
fwd_rules "$FW_WORK/carol-fwd.json" 10.99.4.2 2222
out=$(fw -g carol replace "$FW_WORK/carol-fwd.json" 2>&1) && fail "carol took bob's uplink port"
case $out in *INVALID_ARGUMENT*"2222 is forwarded to another guest"*) ;; *) fail "carol's forward: $out" ;; esac
fw -g bob replace "$FW_WORK/bob-dns.json" >/dev/null || fail "bob's ruleset without the forward"
tcp_answer "$FW_NS_U" "10.99.1.2:2222" bob && fail "bob's port forward still open after it was removed"
echo "port forward: uplink 2222 -> bob:9000 on and off; to another guest's address or port refused"

# 8. expiry: carol's rule for 6 s, then gone by itself; a past deadline refused
t=$(fw -g carol -j status | tr -d ' \n' | sed -n 's/.*"time":"\([0-9]*\)".*/\1/p')
[ "${t:-0}" -gt 1577836800 ] || fail "the appliance has no wall clock (status time '${t:-}')"
skew=$(( $(date +%s) - t ))
[ "${skew#-}" -le 5 ] || fail "the appliance's clock is $skew s off this machine's"
out=$(fw -g carol add accept proto tcp port 8080 expire 1600000000 2>&1) && fail "a rule expiring in 2020 was taken"
case $out in *INVALID_ARGUMENT*"expire: 1600000000 is past"*) ;; *) fail "past expire: $out" ;; esac
out=$(fw -g carol add accept proto tcp port 8080 expire +6 comment "for a while") || fail "carol's expiring rule: $out"
id=${out##* }
tcp_answer "$NS_C" "$FW_UP_IP:8080" pong || fail "carol: her expiring rule did not let TCP 8080 through"
t0=$(date +%s)
while fw -g carol list | grep -q "for a while"; do
	[ $(( $(date +%s) - t0 )) -lt 15 ] || fail "carol's rule $id did not expire: $(fw -g carol list)"
	sleep 0.5
done
tcp_answer "$NS_C" "$FW_UP_IP:8080" pong && fail "carol: TCP 8080 passed after her rule expired"
grep -aq "vapp-firewalld: carol: rule $id expired" "$FW_RUN/console.log" || fail "the expiry was not logged"
echo "expiry: carol's rule $id gone by itself $(( $(date +%s) - t0 )) s after it worked, logged; a past deadline refused (clock skew ${skew} s)"

# 9. router advertisements from a guest: alice announces herself as a router
# with a prefix; the appliance takes neither an address nor a route from it
ra_send() { # in namespace NS, on interface IF: an RA for 2001:db8:bad::/64, router lifetime 1800 s
	ip netns exec "$1" python3 - "$2" <<'PYEOF'
import socket, struct, sys
ifindex = socket.if_nametoindex(sys.argv[1])
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
ra = struct.pack('!BBHBBHII', 134, 0, 0, 64, 0, 1800, 0, 0)
pi = struct.pack('!BBBBIII', 3, 4, 64, 0xc0, 86400, 14400, 0) + socket.inet_pton(socket.AF_INET6, '2001:db8:bad::')
for _ in range(3):
    s.sendto(ra + pi, ('ff02::1', 0, 0, ifindex))
PYEOF
}
ra_send "$FW_NS_G" "$FW_TAP_G" || fail "sending the router advertisement"
sleep 2
# The address SLAAC would have made from eth1's MAC (52:54:00:f1:00:02).
ip -n "$FW_NS_G" -6 route replace 2001:db8:bad::/64 via fd99:2::1
ip netns exec "$FW_NS_G" ping -6 -c 1 -W 2 2001:db8:bad::5054:ff:fef1:2 >/dev/null 2>&1 &&
	fail "the appliance took an address from alice's router advertisement"
fw_tcp6_ok || fail "IPv6 from alice stopped after her router advertisement"
tcp6_b() { [ "$(ip netns exec "$NS_B" timeout 5 socat -T 3 - "TCP6:[$FW_UP_IP6]:8080,connect-timeout=3" </dev/null 2>/dev/null)" = pong6 ]; }
fw -g bob replace "$FW_WORK/bob.json" >/dev/null || fail "bob's TCP 8080 ruleset again"
tcp6_b || fail "bob's IPv6 to the uplink went astray after alice's router advertisement"
echo "router advertisement from alice: no address, no route taken; IPv6 of alice and bob goes on"

echo "PASS ($(( $(date +%s) - start )) s)"
