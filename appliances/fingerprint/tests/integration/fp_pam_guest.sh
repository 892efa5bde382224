#!/bin/bash
# fp_pam_guest.sh - pam_vapp_fingerprint.so inside a real guest VM, through
# vappd's broker, against the fingerprint appliance in its own VM (TCG):
# the guest "login" (BusyBox, pamtester, the module, the appliance's key
# pinned in /etc/vapp) reaches the appliance only by its virtio-serial port
# vapp.fingerprint, which QEMU joins to vappd's gate for "login". The
# appliance's reader is libfprint's image reader (virtual_image: real NBIS
# matching) fed from the host with fp_synth's synthetic prints through the
# test image's port; the host tells the guest, over a second port of the
# test's own (test.ctl), which step to run, and the guest prints each
# pamtester outcome on its console.
#   - "admin" (from the host, through its gate) enrolls alice (finger 1)
#     and bob (finger 2), 5 images each; Identify with a new image of bob's
#     finger names bob, signed;
#   - alice's finger: pamtester in the guest authenticates alice (the
#     assertion checked for the key, the nonce, caller "login", the
#     image's measurement, the counter);
#   - mallory's finger (3): authentication fails;
#   - a replay: a process in the guest records one successful exchange
#     (the module talking to it as to the appliance) and answers the next
#     login with the recorded bytes: refused, and the guest's syslog says
#     why (another nonce, or a counter already seen);
#   - the appliance stopped (vapp stop): failure within the module's
#     timeout, and alice is not let in.
# test-timeout: 600
set -u
cd "${TOP:-$(dirname "$0")/../../../..}"
limit=${FP_TEST_LIMIT:-540}
. tests/lib/guest.sh
FP_READER=--test-image-reader
. appliances/fingerprint/tests/lib/fp_vm.sh
name=fp$$
module=$BUILD/lib/security/pam_vapp_fingerprint.so
synth=$BUILD/tests/progs/fp_synth
command -v pamtester >/dev/null || { echo "pamtester is not installed"; exit 77; }
guest_kernel || { echo "no guest kernel: apt-get download $GUEST_KERNEL_PKG failed"; exit 77; }
for f in "$module" "$synth"; do [ -f "$f" ] || { echo "FAIL: build $f first (make)"; exit 1; }; done
fp_vm_init
cat >"$work/policy" <<EOF2
vapp.fingerprint.v1.Fingerprint admin $name allow
vapp.fingerprint.v1.Fingerprint.Verify login $name allow
vapp.fingerprint.v1.Fingerprint.Identify login $name allow
vapp.fingerprint.v1.Fingerprint.GetPublicKey login $name allow
EOF2
fp_vappd_up admin login
admin() { timeout 60 "$fpcli" -c "unix:$work/run/guests/admin.sock" "$@"; }
timeout "$(left)" "$vapp" run --name "$name" "$work/img" >"$work/run.out" 2>&1 ||
	fail "vapp run: $(cat "$work/run.out")"
vappd_qemu_pid "$name" >>"$work/qemu.pids"
fp_reader_up "$name"
admin pubkey "$work/key.pub" >/dev/null || fail "admin: pubkey"
# The fingers' images, each finger grown once: 1 alice, 2 bob, 3 mallory.
for f in 1 2 3; do
	"$synth" "$f" 1 2 3 4 5 >"$work/f$f.enroll" && "$synth" "$f" 11 >"$work/f$f.11" &&
		"$synth" "$f" 12 >"$work/f$f.12" || fail "fp_synth $f"
done
put() { cat "$1" >&7 || fail "the test reader's port: $1"; }
put "$work/f1.enroll"
admin -t 120 enroll alice right-index >"$work/enroll.out" 2>&1 || fail "enroll alice: $(cat "$work/enroll.out")"
put "$work/f2.enroll"
admin -t 120 enroll bob right-index >"$work/enroll.out" 2>&1 || fail "enroll bob: $(cat "$work/enroll.out")"
put "$work/f2.11"
out=$(admin -k "$work/key.pub" identify) || fail "identify bob's finger: $out"
case $out in *'"match":true'*'"user":"bob"'*) ;; *) fail "identify bob's finger: $out" ;; esac
echo "alice and bob enrolled from 5 images each; a new image of bob's finger identified as bob"
chain=$(awk '$1 == "chain" { print $2 }' "$work/img/measurement")

# The guest: three PAM services on the one module. vapp-fp is the real one
# (the port); -rec and -replay talk to the recorder and the replayer below.
opts="key=/etc/vapp/fingerprint.pub counter=/tmp/fp.counter finger=right-index caller=login image=$chain timeout=8"
mod=/lib/security/pam_vapp_fingerprint.so
echo "auth required $mod $opts" >"$work/vapp-fp"
echo "auth required $mod $opts addr=unix:/tmp/rec.sock" >"$work/vapp-fp-rec"
echo "auth required $mod $opts addr=unix:/tmp/replay.sock" >"$work/vapp-fp-replay"
cat >"$work/login.rc" <<'EOF'
syslogd -O /tmp/syslog
# A sanitized module in an unsanitized pamtester: the runtimes come first.
[ -s /etc/preload ] && export LD_PRELOAD="$(cat /etc/preload)" ASAN_OPTIONS=detect_leaks=0
port=/dev/virtio-ports/vapp.fingerprint
pt() { # SERVICE USER: one login, its outcome and duration on the console
	t0=$(cut -d' ' -f1 /proc/uptime)
	pamtester "$1" "$2" authenticate >/tmp/pt.out 2>&1
	rc=$?
	t1=$(cut -d' ' -f1 /proc/uptime)
	echo "PT $1 $2 rc=$rc ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%d", (b - a) * 1000 }') $(tr '\n' ' ' </tmp/pt.out)"
}
listen() { # SOCKET COMMAND: one connection served by COMMAND
	rm -f "$1"
	socat "UNIX-LISTEN:$1" SYSTEM:"$2" &
	i=0
	while [ ! -S "$1" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
}
echo "LOGIN-READY"
# The host's end of test.ctl comes and goes: read() gives 0 while it is
# away, so the loop opens the port again.
while :; do
	while read -r cmd user; do
		case $cmd in
		pam) pt vapp-fp "$user" ;;
		rec) listen /tmp/rec.sock "tee /tmp/req | socat - $port | tee /tmp/resp"
		     pt vapp-fp-rec "$user"; wait
		     echo "RECORDED $(wc -c </tmp/req) $(wc -c </tmp/resp)" ;;
		replay) listen /tmp/replay.sock "cat /tmp/resp; sleep 5"
			pt vapp-fp-replay "$user"; kill %1 2>/dev/null; wait
			echo "SYSLOG $(grep -i vapp_fingerprint /tmp/syslog | tail -n 1)" ;;
		quit) exit 0 ;;
		esac
		echo "STEP-DONE $cmd"
	done </dev/virtio-ports/test.ctl
	sleep 0.2
done
EOF
mods=()
for m in $(guest_serial_modules); do mods+=(-m "$m"); done
: >"$work/preload"
[ "${SAN:-0}" = 1 ] && ldd "$module" | awk '/lib(a|ub)san/ { print $3 }' | tr '\n' ' ' >"$work/preload"
guest_initramfs "$work/login.gz" "$work/login.rc" "${mods[@]}" \
	-b "$(command -v pamtester)" -b "$(command -v socat)" -b "$module:$mod" \
	-f "$work/key.pub:/etc/vapp/fingerprint.pub" -f "$work/preload:/etc/preload" -f "$work/vapp-fp:/etc/pam.d/vapp-fp" \
	-f "$work/vapp-fp-rec:/etc/pam.d/vapp-fp-rec" -f "$work/vapp-fp-replay:/etc/pam.d/vapp-fp-replay" ||
	fail "the guest's initramfs"
bus=virtio-serial-device
[ "$GUEST_MACHINE" = pc ] && bus=virtio-serial-pci
# shellcheck disable=SC2046
guest_boot "$work/login" "$work/login.gz" -device "$bus" \
	-chardev "socket,id=gate,path=$work/run/guests/login.sock,reconnect=1" \
	-device virtserialport,chardev=gate,name=vapp.fingerprint \
	-chardev "socket,id=ctl,path=$work/ctl.sock,server=on,wait=off" \
	-device virtserialport,chardev=ctl,name=test.ctl
echo "$GUEST_PID" >>"$work/qemu.pids"
console=$work/login/console.log
guest_wait "LOGIN-READY" 120 || fail "the guest did not start"
for _ in $(seq 50); do [ -S "$work/ctl.sock" ] && break; sleep 0.1; done
exec 8> >(exec socat -u - "UNIX-CONNECT:$work/ctl.sock" 2>>"$work/ctl.log")
n=0
step() { # CMD USER: runs a step in the guest; its PT line in $pt
	n=$((n + 1))
	echo "$1 $2" >&8 || fail "test.ctl: $1"
	for _ in $(seq $(( $(left) * 5 ))); do
		[ "$(grep -ac "STEP-DONE" "$console")" -ge $n ] && break
		sleep 0.2
	done
	[ "$(grep -ac "STEP-DONE" "$console")" -ge $n ] || fail "step $n ($1 $2) did not end"
	pt=$(grep -a "^PT " "$console" | sed -n "${n}p")
}

put "$work/f1.11"
step pam alice
case $pt in *"rc=0 "*"successfully authenticated"*) ;; *) fail "alice's finger: $pt" ;; esac
echo "alice's finger, pamtester in the guest: authenticated (${pt#*ms=})"
put "$work/f3.11"
step pam alice
case $pt in *"rc=1 "*"Authentication failure"*) ;; *) fail "mallory's finger: $pt" ;; esac
echo "mallory's finger: refused"

put "$work/f1.12"
step rec alice
case $pt in *"rc=0 "*"successfully authenticated"*) ;; *) fail "the recorded login: $pt" ;; esac
grep -a "^RECORDED" "$console" | grep -aq "^RECORDED [1-9][0-9]* [1-9][0-9]*" ||
	fail "nothing was recorded: $(grep -a RECORDED "$console")"
step replay alice
case $pt in *"rc=1 "*"Authentication failure"*) ;; *) fail "the replay: $pt" ;; esac
why=$(grep -a "^SYSLOG" "$console" | tail -n 1)
case $why in *"another nonce"* | *"a replayed assertion"*) ;; *) fail "the replay's reason: $why" ;; esac
echo "a recorded answer replayed: refused (${why#*: })"

"$vapp" stop "$name" >/dev/null 2>&1 || fail "vapp stop $name"
step pam alice
case $pt in *"rc=0 "*) fail "alice let in with the appliance stopped: $pt" ;; *"rc="*) ;; *) fail "appliance down: $pt" ;; esac
ms=$(echo "$pt" | sed -n 's/.* ms=\([0-9]*\) .*/\1/p')
[ -n "$ms" ] && [ "$ms" -lt 10000 ] || fail "the appliance down: $pt (the module's timeout is 8 s)"
echo "the appliance stopped: refused in $ms ms ($(echo "$pt" | sed 's/.* ms=[0-9]* //'))"
echo quit >&8
echo "fp_pam_guest: passed in $(( $(date +%s) - start )) s"
