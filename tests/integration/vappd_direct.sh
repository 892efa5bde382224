#!/bin/bash
# vappd_direct.sh - a direct channel under QEMU: a guest VM calls the hello
# appliance through memory the two VMs share (ivshmem), past vappd, in real
# QEMU VMs (TCG) on the small kernel:
#   - the policy gives alice Greeter whole with direct=yes, bob too but
#     denies him SayHello first, and carol may call Greeter through the
#     broker only: vappd makes a pair for alice and one for bob, `vapp ps
#     --long` shows them, and carol has no socket to plug a device into;
#   - alice's VM, with the ivshmem device on her socket, calls SayHello
#     and Watch on ivshmem:0000:00:05.0 and is answered as label:alice
#     (vappd's word: the socket her QEMU came through); a second QEMU on
#     her socket while hers holds it is closed unanswered;
#   - the same calls through the broker, and the round trips of both in
#     one run (printed: rtt_ivshmem_p50_us against rtt_brokered_p50_us);
#   - a hostile program in alice lies about its ring's index and leaves:
#     the appliance refuses that connection, goes on serving the host
#     through the broker, and serves alice's next honest call directly;
#   - the appliance's QEMU is killed: alice's direct calls are answered
#     again by the restarted appliance, on a fresh ring (a call made while
#     it is down waits for it, up to its timeout);
#   - bob's VM calls directly too: SayHello is refused by the appliance
#     itself (PERMISSION_DENIED, as the broker words it), Watch answered.
# Bounded by $DIRECT_TEST_LIMIT seconds (default 400); everything it
# started is killed on exit.
set -u
cd "${TOP:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
limit=${DIRECT_TEST_LIMIT:-400}
start=$(date +%s)
vapp=$BUILD/bin/vapp
vappd=$BUILD/bin/vappd
client=$BUILD/bin/hello-client
liar=$BUILD/tests/progs/ivshmem_liar
. tests/lib/guest.sh
. tests/lib/vappd.sh

left() { local l=$(( limit - ($(date +%s) - start) )); echo $(( l > 0 ? l : 1 )); }
command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 is not installed"; exit 77; }
for f in "$vapp" "$vappd" "$client" "$liar"; do
	[ -e "$f" ] || { echo "FAIL: build $f first (make)"; exit 1; }
done
guest_small_kernel "$BUILD/kernels/small" || { echo "FAIL: make kernel first"; exit 1; }
GUEST_MACHINE=q35
GUEST_MEM=128M

work=$(mktemp -d /tmp/vappd-direct.XXXXXX)
chmod 711 "$work" # vappd runs QEMU as vapp-qemu, who must reach the run folder
VAPPD_PID=
cleanup() {
	vappd_teardown "$VAPPD_PID" /dev/null
	[ -n "${DIRECT_TEST_KEEP:-}" ] || rm -rf "$work"
}
guest_on_exit cleanup
fail() {
	echo "FAIL: $*"
	echo "--- vappd log (last 30 lines) ---"
	tail -n 30 "$work/vappd.log" 2>/dev/null
	[ -n "$GUEST_DIR" ] && { echo "--- alice's console (last 25 lines) ---"; tail -n 25 "$GUEST_DIR/console.log"; }
	exit 1
}

img=$work/hello
timeout "$(left)" "$vapp" build -D "BUILD=$BUILD" examples/hello/manifest-direct.yaml -o "$img" \
	>"$work/build.log" 2>&1 || { cat "$work/build.log"; fail "vapp build manifest-direct.yaml"; }

cat >"$work/policy" <<'POLICY'
# alice may call the greeter whole, on a channel of her own; bob too, but
# not SayHello (the appliance refuses it); carol through the broker only.
vapp.hello.v1.Greeter           alice  hello  allow direct=yes
vapp.hello.v1.Greeter.SayHello  bob    hello  deny
vapp.hello.v1.Greeter           bob    hello  allow direct=yes
vapp.hello.v1.Greeter           carol  hello  allow
vapp.hello.v1.Greeter.Watch     host   hello  allow
POLICY
"$vapp" policy check "$work/policy" >/dev/null || fail "the test's policy does not check"

export VAPPD_SOCKET=$work/vappd.sock
getent group vapp-test >/dev/null || groupadd --system vapp-test
"$vappd" --foreground --socket "$VAPPD_SOCKET" --run-dir "$work/run" \
	--state-dir "$work/state" --trust-image-key --accel tcg --boot-timeout 90 --group vapp-test \
	--policy "$work/policy" --guest alice --guest bob --guest carol >"$work/vappd.log" 2>&1 &
VAPPD_PID=$!
for _ in $(seq 50); do [ -S "$VAPPD_SOCKET" ] && break; sleep 0.1; done
[ -S "$VAPPD_SOCKET" ] || fail "vappd did not make its socket"
out=$(timeout "$(left)" "$vapp" run "$img" 2>&1) || fail "vapp run: $out"

# The pairs: alice's and bob's, their sockets the group's; none for carol.
sock=$work/run/guests/alice.direct/hello.sock
bsock=$work/run/guests/bob.direct/hello.sock
[ -S "$sock" ] && [ -S "$bsock" ] || fail "no direct socket for alice or bob"
[ "$(stat -c %a:%G "$sock")" = 660:vapp-test ] || fail "alice's direct socket is $(stat -c %a:%G "$sock")"
[ -e "$work/run/guests/carol.direct" ] && fail "carol, with no direct=yes rule, got a direct channel"
ps_long=$("$vapp" ps --long)
echo "$ps_long" | grep -q "direct       alice ivshmem:0000:00:10.0 $sock (appliance connected, guest not connected) vapp.hello.v1.Greeter\$" ||
	fail "vapp ps --long does not show alice's pair: $ps_long"
echo "$ps_long" | grep -q "direct       bob ivshmem:0000:00:11.0 $bsock (appliance connected, guest not connected) vapp.hello.v1.Greeter !SayHello\$" ||
	fail "vapp ps --long does not show bob's pair: $ps_long"
[ "$(echo "$ps_long" | grep -c 'direct  ')" = 2 ] || fail "not two pairs: $ps_long"
echo "vappd: alice's pair on the appliance's 0000:00:10.0, bob's (SayHello denied) on 11.0, none for carol"

# A "QEMU" on bob's socket that talks, which no QEMU does: vappd drops the
# bytes and keeps answering, and sees it go.
python3 - "$bsock" "$vapp" <<'PY' || fail "vappd stopped answering while a peer sent bytes"
import socket, subprocess, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"x" * 300)
time.sleep(0.5)
subprocess.run([sys.argv[2], "ps"], check=True, timeout=10, stdout=subprocess.DEVNULL)
s.close()
PY
for _ in $(seq 50); do grep -q "direct: bob to hello: the guest's QEMU went" "$work/vappd.log" && break; sleep 0.1; done
grep -q "direct: bob to hello: the guest's QEMU went" "$work/vappd.log" ||
	fail "vappd did not see the talking peer go"
echo "a peer that sends bytes on its socket: dropped, vappd answering"

cat >"$work/alice.rc" <<'RC'
mkdir -p /dev/virtio-ports
for p in /sys/class/virtio-ports/vport*; do ln -sf "/dev/${p##*/}" "/dev/virtio-ports/$(cat "$p/name")"; done
d=ivshmem:0000:00:05.0
out=$(/bin/hello-client --timeout 30000 $d alice 2>&1); echo "ALICE-DIRECT rc=$? $out"
out=$(/bin/hello-client --timeout 30000 --watch 2 $d alice 2>&1 | tr '\n' ' '); echo "ALICE-WATCH $out"
out=$(/bin/hello-client --timeout 30000 serial:/dev/virtio-ports/vapp.hello alice 2>&1); echo "ALICE-BROKER rc=$? $out"
out=$(/bin/hello-client --timeout 60000 --repeat 300 $d alice 2>&1 >/dev/null | tail -n 1); echo "ALICE-RTT-DIRECT $out"
out=$(/bin/hello-client --timeout 60000 --repeat 300 serial:/dev/virtio-ports/vapp.hello alice 2>&1 >/dev/null | tail -n 1); echo "ALICE-RTT-BROKER $out"
/bin/ivshmem_liar 0000:00:05.0; echo "ALICE-LIAR-EXIT $?"
out=$(/bin/hello-client --timeout 30000 $d alice 2>&1); echo "ALICE-AFTER-LIAR rc=$? $out"
i=0
while [ $i -lt 300 ]; do
	i=$((i + 1))
	out=$(/bin/hello-client --timeout 3000 $d alice 2>&1); echo "ALICE-LOOP $i rc=$? $out"
	sleep 0.5
done
RC
guest_initramfs "$work/alice.gz" "$work/alice.rc" -m vfio_pci -b "$client" -b "$liar" ||
	fail "initramfs for alice"
guest_boot "$work/alice" "$work/alice.gz" \
	-device virtio-serial-pci \
	-chardev "socket,id=gate,path=$work/run/guests/alice.sock,reconnect=1" \
	-device virtserialport,chardev=gate,name=vapp.hello \
	-chardev "socket,id=direct,path=$sock" \
	-device ivshmem-doorbell,chardev=direct,vectors=2,addr=05.0
guest_wait "ALICE-DIRECT" 120 || fail "alice's first direct call did not come back"
con=$GUEST_DIR/console.log
grep -aq "ALICE-DIRECT rc=0 Hello, alice! (caller label:alice)" "$con" ||
	fail "alice's direct SayHello: $(grep -a ALICE-DIRECT "$con")"
guest_wait "ALICE-WATCH" 60 || fail "alice's Watch did not come back"
grep -aq "ALICE-WATCH Hello #1, alice! Hello #2, alice!" "$con" ||
	fail "alice's direct Watch: $(grep -a ALICE-WATCH "$con")"
"$vapp" ps --long | grep -q "direct .*(appliance connected, guest connected)" ||
	fail "vapp ps does not show alice's QEMU connected: $("$vapp" ps --long)"
echo "alice: SayHello and Watch answered directly, as label:alice"

# A second QEMU on alice's socket: closed before it is told anything.
extra=$(timeout 10 python3 -c "
import socket; s = socket.socket(socket.AF_UNIX); s.connect('$sock'); s.settimeout(5)
print(len(s.recv(64)))" 2>&1)
[ "$extra" = 0 ] || fail "a second connection on alice's socket got: $extra"
grep -q "direct: alice to hello: the guest's QEMU: a second connection, refused" "$work/vappd.log" ||
	fail "vappd did not log the refused second connection"
echo "a second QEMU on alice's socket: refused"

guest_wait "ALICE-RTT-BROKER" 120 || fail "alice's round trips did not finish"
grep -aq "ALICE-BROKER rc=0 Hello, alice! (caller label:alice)" "$con" ||
	fail "alice through the broker: $(grep -a ALICE-BROKER "$con")"
rd=$(grep -a "ALICE-RTT-DIRECT" "$con" | sed -n 's/.*rtt_p50_us \([0-9.]*\).*/\1/p')
rb=$(grep -a "ALICE-RTT-BROKER" "$con" | sed -n 's/.*rtt_p50_us \([0-9.]*\).*/\1/p')
[ -n "$rd" ] && [ -n "$rb" ] || fail "no round trips: $(grep -a ALICE-RTT "$con")"
echo "rtt_ivshmem_p50_us $rd rtt_brokered_p50_us $rb ratio $(awk -v a="$rd" -v b="$rb" 'BEGIN { printf "%.3f", a / b }')"

guest_wait "ALICE-AFTER-LIAR" 60 || fail "alice's call after the liar did not come back"
grep -aq "LIAR-ATTACHED" "$con" || fail "the liar did not attach: $(grep -a LIAR "$con")"
grep -aq "ALICE-AFTER-LIAR rc=0 Hello, alice!" "$con" ||
	fail "alice after the liar: $(grep -a ALICE-AFTER-LIAR "$con")"
out=$(timeout 30 "$vapp" call hello Watch '{"name": "admin", "count": 1}' 2>&1) ||
	fail "the host through the broker after the liar: $out"
echo "a lying ring: refused; the host and alice served after it"

# The appliance dies: the restarted one answers alice's calls on a fresh
# ring (its QEMU takes the pair's memory again).
guest_wait "ALICE-LOOP 3 rc=0" 60 || fail "alice's loop did not start"
old=$(vappd_qemu_pid hello)
kill -9 "$old"
new=$(vappd_wait_restarted hello "$old" "$(left)") || fail "vappd did not restart hello"
n0=$(grep -ac "ALICE-LOOP" "$con")
for _ in $(seq 120); do
	tail -n +$((n0 + 1)) "$con" 2>/dev/null | grep -aq "ALICE-LOOP .* rc=0 Hello" && break
	sleep 0.5
done
tail -n +$((n0 + 1)) "$con" | grep -aq "ALICE-LOOP .* rc=0 Hello, alice!" ||
	fail "alice was not answered by the restarted appliance"
grep -q "direct: alice to hello: the appliance's QEMU went" "$work/vappd.log" ||
	fail "vappd did not see the appliance's QEMU go"
[ "$(grep -c "direct: alice to hello: the appliance's QEMU took the memory" "$work/vappd.log")" = 2 ] ||
	fail "the restarted appliance's QEMU did not take the pair's memory"
echo "appliance killed (QEMU $old): alice answered directly again by QEMU $new"
guest_stop

cat >"$work/bob.rc" <<'RC'
d=ivshmem:0000:00:05.0
out=$(/bin/hello-client --timeout 30000 $d bob 2>&1); echo "BOB-SAYHELLO rc=$? $out"
out=$(/bin/hello-client --timeout 30000 --watch 2 $d bob 2>&1 | tr '\n' ' '); echo "BOB-WATCH $out"
echo BOB-DONE
RC
guest_initramfs "$work/bob.gz" "$work/bob.rc" -m vfio_pci -b "$client" || fail "initramfs for bob"
guest_boot "$work/bob" "$work/bob.gz" -chardev "socket,id=direct,path=$bsock" \
	-device ivshmem-doorbell,chardev=direct,vectors=2,addr=05.0
guest_wait "BOB-DONE" 120 || fail "bob's calls did not come back"
grep -aq "BOB-SAYHELLO rc=1 hello-client: PERMISSION_DENIED: policy denies bob calling vapp.hello.v1.Greeter.SayHello" \
	"$GUEST_DIR/console.log" || fail "bob's direct SayHello: $(grep -a BOB-SAYHELLO "$GUEST_DIR/console.log")"
grep -aq "BOB-WATCH Hello #1, bob! Hello #2, bob!" "$GUEST_DIR/console.log" ||
	fail "bob's direct Watch: $(grep -a BOB-WATCH "$GUEST_DIR/console.log")"
grep -q "denied: bob calling" "$work/vappd.log" && fail "bob's direct call reached the broker"
echo "bob: SayHello refused by the appliance itself, Watch answered, both directly"
echo "direct channel under QEMU: all held in $(( $(date +%s) - start )) s"
