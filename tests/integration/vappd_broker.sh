#!/bin/bash
# vappd_broker.sh - guests reach an appliance only through vappd's broker,
# with per-method policy, in real QEMU guests (TCG):
#   - vappd runs the hello appliance, with a policy and two guest gates;
#   - guest VM "alice" (BusyBox + hello-client) calls Greeter.SayHello from
#     inside the VM through its virtio-serial port, again and again, and is
#     answered; the appliance sees the caller as label:alice (the gate's
#     name, not anything the guest said);
#   - guest VM "bob", whose policy denies SayHello, gets PERMISSION_DENIED
#     for it but may Watch, while alice keeps being answered;
#   - vappd logs the denied call;
#   - `vapp call hello ...` from the host goes through the host's gate, under
#     the same policy;
#   - the appliance's QEMU is killed: vappd restarts it, and alice's calls,
#     UNAVAILABLE meanwhile, are answered again on the same channel.
# Bounded by $BROKER_TEST_LIMIT seconds (default 400); everything it started
# is killed on exit.
set -u
cd "${TOP:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
limit=${BROKER_TEST_LIMIT:-400}
start=$(date +%s)
vapp=$BUILD/bin/vapp
vappd=$BUILD/bin/vappd
client=$BUILD/bin/hello-client
. tests/lib/guest.sh

left() { local l=$(( limit - ($(date +%s) - start) )); echo $(( l > 0 ? l : 1 )); }
command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 is not installed"; exit 77; }
guest_kernel || { echo "no guest kernel: apt-get download $GUEST_KERNEL_PKG failed"; exit 77; }
for f in "$vapp" "$vappd" "$client"; do
	[ -x "$f" ] || { echo "FAIL: build $f first (make)"; exit 1; }
done

work=$(mktemp -d /tmp/vappd-broker.XXXXXX)
chmod 711 "$work" # vappd runs QEMU as vapp-qemu, who must reach the run folder
VAPPD_PID=
ALICE_PID=
stop_vappd() {
	if [ -n "$VAPPD_PID" ] && kill -0 "$VAPPD_PID" 2>/dev/null; then
		kill "$VAPPD_PID" 2>/dev/null
		for _ in $(seq 100); do kill -0 "$VAPPD_PID" 2>/dev/null || break; sleep 0.2; done
		kill -9 "$VAPPD_PID" 2>/dev/null
	fi
	[ -n "$ALICE_PID" ] && kill -9 "$ALICE_PID" 2>/dev/null
	[ -n "${BROKER_TEST_KEEP:-}" ] || rm -rf "$work"
}
guest_on_exit stop_vappd
fail() {
	echo "FAIL: $*"
	echo "--- vappd log (last 30 lines) ---"
	tail -n 30 "$work/vappd.log" 2>/dev/null
	for g in alice bob; do
		[ -f "$work/$g/console.log" ] || continue
		echo "--- $g's console (last 20 lines) ---"
		tail -n 20 "$work/$g/console.log"
	done
	exit 1
}

img=$work/hello
timeout "$(left)" "$vapp" build -D "BUILD=$BUILD" examples/hello/manifest.yaml -o "$img" \
	>"$work/build.log" 2>&1 || { cat "$work/build.log"; fail "vapp build examples/hello"; }

cat >"$work/policy" <<'EOF'
# bob may watch greetings but not ask for one; alice may do both.
vapp.hello.v1.Greeter.SayHello  bob    hello  deny
vapp.hello.v1.Greeter           alice  hello  allow
vapp.hello.v1.Greeter.Watch     bob    hello  allow
vapp.hello.v1.Greeter.Watch     host   hello  allow
EOF
"$vapp" policy check "$work/policy" || fail "the test's policy does not check"

export VAPPD_SOCKET=$work/vappd.sock
# A guest named like the host's gate would be the host: refused at start.
out=$(timeout 20 "$vappd" --foreground --socket "$work/x.sock" --run-dir "$work/xrun" \
	--state-dir "$work/xstate" --trust-image-key --guest host 2>&1) && fail "vappd took --guest host"
case $out in *"--guest host: 'host' is the host's own label"*) echo "--guest host: refused" ;;
*) fail "--guest host: $out" ;; esac
# The broker never runs as root, nor as a user that is not there: vappd
# says so and stops, leaving no gate behind.
for u in root no-such-user; do
	out=$(timeout 20 "$vappd" --foreground --socket "$work/x.sock" --run-dir "$work/xrun" \
		--state-dir "$work/xstate" --trust-image-key --guest alice --broker-user "$u" 2>&1) &&
		fail "vappd ran its broker as $u"
	case $out in *"broker: user $u "*"vappd stops"*) ;; *) fail "--broker-user $u: $out" ;; esac
	[ -e "$work/xrun/guests/alice.sock" ] && fail "a gate left behind by --broker-user $u"
done
echo "--broker-user root or missing: refused"

getent group vapp-test >/dev/null || groupadd --system vapp-test
"$vappd" --foreground --socket "$VAPPD_SOCKET" --run-dir "$work/run" \
	--state-dir "$work/state" --trust-image-key --accel tcg --boot-timeout 90 --group vapp-test \
	--policy "$work/policy" --guest alice --guest bob:visitors >"$work/vappd.log" 2>&1 &
VAPPD_PID=$!
for _ in $(seq 50); do [ -S "$VAPPD_SOCKET" ] && break; sleep 0.1; done
[ -S "$VAPPD_SOCKET" ] || fail "vappd did not make its socket"
# The gates: the group's, 0660, from the moment vappd says it listens.
for _ in $(seq 50); do grep -q 'listening on' "$work/vappd.log" && break; sleep 0.1; done
for g in alice bob; do
	[ "$(stat -c %a:%G "$work/run/guests/$g.sock")" = 660:vapp-test ] ||
		fail "gate $g is $(stat -c %a:%G "$work/run/guests/$g.sock"), not 660:vapp-test"
done
[ "$(stat -c %a:%G "$work/run/host.sock")" = 660:vapp-test ] || fail "the host gate: $(stat -c %a:%G "$work/run/host.sock")"
[ "$(stat -c %G "$work/run/guests")" = vapp-test ] || fail "the gates' folder is not the group's"
out=$(timeout "$(left)" "$vapp" run "$img" 2>&1) || fail "vapp run: $out"
for _ in $(seq 50); do grep -q 'brokering vapp.hello.v1.Greeter' "$work/vappd.log" && break; sleep 0.1; done
grep -q 'brokering vapp.hello.v1.Greeter' "$work/vappd.log" || fail "vappd does not broker hello"

# The same gate from the host: the broker answers as for any guest.
out=$(timeout 20 "$client" "unix:$work/run/guests/alice.sock" host-side 2>&1) ||
	fail "a call through alice's gate from the host: $out"
case $out in "Hello, host-side! (caller label:alice)") ;; *) fail "gate call answered: $out" ;; esac

# The host calls by appliance name through its own gate, as "host".
out=$(timeout 30 "$vapp" call hello Watch '{"name": "admin", "count": 2}' 2>&1) ||
	fail "vapp call hello Watch: $out"
[ "$(echo "$out" | grep -c '"greeting":"Hello #')" = 2 ] || fail "vapp call hello Watch printed: $out"
out=$(timeout 30 "$vapp" call hello SayHello '{"name": "admin"}' 2>&1) &&
	fail "vapp call hello SayHello was allowed: $out"
case $out in *"PERMISSION_DENIED: policy denies host calling vapp.hello.v1.Greeter.SayHello"*) ;;
*) fail "vapp call hello SayHello: $out" ;; esac
echo "vapp call by name: Watch allowed for host, SayHello denied"
# By name, as a member of vappd's group who is not root, and with no protoc:
# vappd hands over the verified image's services.desc.
id vapp-caller >/dev/null 2>&1 ||
	useradd --system --no-create-home --shell /usr/sbin/nologin -G vapp-test vapp-caller
mkdir -p "$work/nopath" && ln -sf "$(command -v timeout)" "$work/nopath/timeout"
out=$(timeout 30 runuser -u vapp-caller -- /usr/bin/env PATH="$work/nopath" \
	VAPPD_SOCKET="$VAPPD_SOCKET" "$PWD/$vapp" call hello Watch \
	'{"name": "member", "count": 1}' 2>&1) || fail "vapp call by name as a group member: $out"
case $out in *'"greeting":"Hello #1, member'*) echo "vapp call by name: a non-root group member, no protoc" ;;
*) fail "vapp call as a group member printed: $out" ;; esac

# The guest VMs: BusyBox and hello-client; the port vapp.hello is connected
# to the guest's gate by QEMU (vappd listens there).
mods=()
for m in $(guest_serial_modules); do mods+=(-m "$m"); done
cat >"$work/alice.rc" <<'EOF'
i=0
while [ $i -lt 400 ]; do
	i=$((i + 1))
	if out=$(/bin/hello-client --timeout 20000 serial:/dev/virtio-ports/vapp.hello alice 2>&1); then
		echo "ALICE-OK $i $out"
	else
		echo "ALICE-FAIL $i $out"
	fi
	sleep 1
done
EOF
cat >"$work/bob.rc" <<'EOF'
out=$(/bin/hello-client --timeout 20000 serial:/dev/virtio-ports/vapp.hello bob 2>&1)
echo "BOB-SAYHELLO rc=$? $out"
out=$(/bin/hello-client --timeout 20000 --watch 2 serial:/dev/virtio-ports/vapp.hello bob 2>&1 | tr '\n' ' ')
echo "BOB-WATCH $out"
echo "BOB-DONE"
EOF
for g in alice bob; do
	guest_initramfs "$work/$g.gz" "$work/$g.rc" "${mods[@]}" -b "$client" ||
		fail "initramfs for $g"
done
gate_args() { # GUEST: QEMU connects the port to vappd's gate (vappd listens)
	echo "-device virtio-serial-device -chardev socket,id=gate,path=$work/run/guests/$1.sock,reconnect=1 -device virtserialport,chardev=gate,name=vapp.hello"
}
[ "$GUEST_MACHINE" = pc ] && gate_args() {
	echo "-device virtio-serial-pci -chardev socket,id=gate,path=$work/run/guests/$1.sock,reconnect=1 -device virtserialport,chardev=gate,name=vapp.hello"
}

# shellcheck disable=SC2046
guest_boot "$work/alice" "$work/alice.gz" $(gate_args alice)
ALICE_PID=$GUEST_PID
alice_console=$GUEST_DIR/console.log
guest_wait "ALICE-OK 1 " 120 || fail "alice's first call from inside her VM was not answered"
echo "alice (a guest VM) answered $GUEST_WAIT_MS ms after her QEMU started"
grep -aq "ALICE-OK 1 Hello, alice! (caller label:alice)" "$alice_console" ||
	fail "alice was not seen as label:alice: $(grep -a ALICE "$alice_console" | head -3)"

# bob, in his own VM, while alice keeps calling.
before=$(grep -ac "ALICE-OK" "$alice_console")
# shellcheck disable=SC2046
guest_boot "$work/bob" "$work/bob.gz" $(gate_args bob)
guest_wait "BOB-DONE" 120 || fail "bob's guest did not finish"
grep -aq "BOB-SAYHELLO rc=1 hello-client: PERMISSION_DENIED: policy denies bob calling vapp.hello.v1.Greeter.SayHello" \
	"$GUEST_DIR/console.log" || fail "bob's SayHello was not denied: $(grep -a BOB-SAYHELLO "$GUEST_DIR/console.log")"
grep -aq "BOB-WATCH Hello #1, bob! Hello #2, bob!" "$GUEST_DIR/console.log" ||
	fail "bob's allowed Watch failed: $(grep -a BOB-WATCH "$GUEST_DIR/console.log")"
echo "bob: SayHello denied by policy, Watch allowed"
guest_stop

# alice went on being answered meanwhile, and after.
sleep 3
after=$(grep -ac "ALICE-OK" "$alice_console")
[ "$after" -gt "$before" ] || fail "alice got no answers while bob was refused"
! grep -aq "ALICE-FAIL" "$alice_console" || fail "a call of alice failed: $(grep -a ALICE-FAIL "$alice_console" | head -2)"
echo "alice: $after calls answered, none failed"
grep -q "denied: bob calling vapp.hello.v1.Greeter.SayHello on hello" "$work/vappd.log" ||
	fail "vappd did not log the denied call"

# The appliance crashes: vappd restarts it and the broker takes alice's
# calls to the new one, on the same guest channel.
qpid=$("$vapp" ps 2>/dev/null | awk '$1 == "hello" { print $6 }')
[ -n "$qpid" ] && [ "$qpid" != - ] || fail "no QEMU pid for hello in vapp ps"
kill -9 "$qpid"
t0=$(date +%s)
while [ $(( $(date +%s) - t0 )) -lt 120 ]; do
	read -r _ st _ rs _ < <("$vapp" ps 2>/dev/null | awk '$1 == "hello"')
	[ "${st:-}" = running ] && [ "${rs:-}" = 1 ] && break
	sleep 0.5
done
[ "${st:-}" = running ] && [ "${rs:-}" = 1 ] || fail "hello was not restarted: $("$vapp" ps)"
n=$(grep -ac "ALICE-OK" "$alice_console")
for _ in $(seq 60); do [ "$(grep -ac "ALICE-OK" "$alice_console")" -gt "$n" ] && break; sleep 1; done
[ "$(grep -ac "ALICE-OK" "$alice_console")" -gt "$n" ] || fail "alice is not answered after the restart"
# While it was down, her calls failed cleanly: the call in flight
# UNAVAILABLE, new sessions refused (the broker: not running now).
if grep -a "ALICE-FAIL" "$alice_console" | grep -avE "UNAVAILABLE|Connection refused" | grep -q .; then
	fail "a call failed otherwise than UNAVAILABLE: $(grep -a ALICE-FAIL "$alice_console" | grep -avE "UNAVAILABLE|Connection refused" | head -2)"
fi
echo "restart: alice answered again $(( $(date +%s) - t0 )) s after the appliance was killed ($(grep -ac ALICE-FAIL "$alice_console") calls unavailable meanwhile)"
# The broker is a process of its own, the one that reads what guests send:
# user vapp-broker, no capability, no_new_privs, seccomp, no file open but
# /dev/null, only sockets vappd handed it.
bpid=$(pgrep -P "$VAPPD_PID" -x vappd-broker) || fail "no vappd-broker child of vappd"
st=/proc/$bpid/status
[ "$(awk '/^Uid:/ { print $2 $3 $4 $5 }' "$st")" = "$(id -u vapp-broker)$(id -u vapp-broker)$(id -u vapp-broker)$(id -u vapp-broker)" ] ||
	fail "the broker runs as $(grep ^Uid: "$st")"
grep -q "^Seccomp:[[:space:]]*2" "$st" || fail "the broker has no seccomp filter: $(grep ^Seccomp "$st")"
grep -q "^NoNewPrivs:[[:space:]]*1" "$st" || fail "the broker may gain privileges"
grep -q "^CapEff:[[:space:]]*0000000000000000" "$st" || fail "the broker has capabilities: $(grep ^CapEff "$st")"
others=$(for f in /proc/"$bpid"/fd/*; do readlink "$f"; done | grep -v -e '^socket:' -e '^/dev/null$' -e '^anon_inode:') &&
	fail "the broker holds files: $others"
rss=$(awk '/^VmRSS:/ { print $2 }' "$st")
echo "broker: pid $bpid, uid vapp-broker, seccomp, no capability, only sockets; VmRSS $rss kB"
# Killed (as an exploited broker would be by its filter), it is started
# again, gets the gates and the appliance's channel anew, and alice's
# guest, reconnecting on its own, is answered again.
kill -9 "$bpid"
for _ in $(seq 100); do
	nb=$(pgrep -P "$VAPPD_PID" -x vappd-broker) && [ "$nb" != "$bpid" ] &&
		[ "$(grep -c 'brokering vapp.hello.v1.Greeter' "$work/vappd.log")" -ge 3 ] && break
	sleep 0.1
done
grep -q "broker: died of signal 9" "$work/vappd.log" || fail "vappd did not see its broker die"
[ "$(grep -c 'brokering vapp.hello.v1.Greeter' "$work/vappd.log")" -ge 3 ] ||
	fail "the new broker did not get hello's channel"
n=$(grep -ac "ALICE-OK" "$alice_console")
t0=$(date +%s)
for _ in $(seq 60); do [ "$(grep -ac "ALICE-OK" "$alice_console")" -gt "$n" ] && break; sleep 1; done
[ "$(grep -ac "ALICE-OK" "$alice_console")" -gt "$n" ] || fail "alice is not answered after the broker restarted"
out=$(timeout 30 "$vapp" call hello Watch '{"name": "again", "count": 1}' 2>&1) ||
	fail "vapp call after the broker restarted: $out"
echo "broker restart: alice answered again $(( $(date +%s) - t0 )) s after"
echo "broker: per-method policy held for two guest VMs in $(( $(date +%s) - start )) s"
