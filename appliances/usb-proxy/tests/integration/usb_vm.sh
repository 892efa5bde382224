#!/bin/bash
# usb_vm.sh - the USB proxy appliance in its VM under vappd, with devices
# QEMU emulates on the appliance's controller (a USB stick holding a file
# of known SHA-256, and a keyboard), and two guest VMs (Debian's generic
# kernel: vhci-hcd, usb-storage) that reach it only through vappd's broker
# on their port vapp.usb:
#   - the device rules are vappd's (--setting NAME:usb.rules=FILE), not the
#     image's own (which deny the stick to everyone), and a setting the
#     image does not take makes vapp run fail, naming it;
#   - the devices are listed with their ids, classes and strings;
#   - alice (the device rules give her anything) attaches the stick: it
#     appears in her VM as a disk, she mounts it read-only and the file's
#     checksum matches; she lets go: the disk is gone from her VM and the
#     stick is the appliance's again (driver "usb"); the host detaches it
#     while she reads it: her reads fail and end, her vapp-usb ends
#     cleanly, nothing hangs;
#   - bob (the rules deny him mass storage) asks for the stick:
#     PERMISSION_DENIED, and it stays in the appliance; he takes the
#     keyboard, and alice (from the host, through her gate) detaches it:
#     answered before the device is back (under 200 ms: the daemon waits
#     for the kernel on its timers, not in a sleep), bob's vapp-usb ends
#     cleanly and the keyboard's own driver has it again;
#   - an administrator's Assign (the host's; the policy denies it to guests,
#     bob's own try is refused): the stick to bob is refused by the rules;
#     the keyboard to bob: his `vapp-usb agent` attaches it by itself, and
#     alice's Attach of it is refused (assigned to bob); the keyboard to
#     alice: bob loses it in order; cleared: assigned to no one;
#   - a hostile holder (the host's gate, allowed the keyboard) sends garbage
#     as USB/IP: only the appliance's kernel parses it, drops the
#     connection, and the daemon goes on answering;
#   - alice holds the stick and the appliance's QEMU is killed: her
#     vapp-usb ends, the disk leaves her VM (the vhci port freed); vappd
#     boots the appliance again and the stick is listed, attached to no one;
#   - the keyboard unplugged (QEMU's device_del) while the host holds it:
#     the holder's stream ends, a watcher sees UNPLUG and the device is no
#     longer listed; plugged again (device_add): PLUG, listed.
# Bounded by $USB_TEST_LIMIT seconds (default 500).
# test-timeout: 560
set -u
cd "${TOP:-$(dirname "$0")/../../../..}"
limit=${USB_TEST_LIMIT:-500}
. appliances/usb-proxy/tests/lib/usb_rig.sh
name=usb$$
usb_rig_init
usb_stick 1
usb_image "bob    deny   class:08
bob    allow  *
alice  allow  *
host   allow  usb:0627:*"
sed -n 's/^ *\(total\) .*MiB.*/  &/p' "$work/build.log"

# A setting the image does not take: refused before anything boots.
"$vappd" --foreground --socket "$work/v0.sock" --run-dir "$work/run0" --state-dir "$work/state0" \
	--trust-image-key --accel tcg --setting "$name:usb.rule=$work/rules" >"$work/vappd0.log" 2>&1 &
v0=$!
for _ in $(seq 50); do [ -S "$work/v0.sock" ] && break; sleep 0.1; done
VAPPD_SOCKET=$work/v0.sock timeout 60 "$vapp" run --name "$name" "$work/img" >"$work/run0.out" 2>&1 &&
	fail "vapp run took a setting the image does not take"
kill "$v0"; wait "$v0" 2>/dev/null
grep -q "takes no setting 'usb.rule'" "$work/run0.out" || fail "the refusal: $(cat "$work/run0.out")"
echo "a setting the image does not take: $(tail -n 1 "$work/run0.out")"

usb_vappd_up "$name" alice bob
grep -aq "device rules from /run/vapp/settings/usb.rules" "$work/run/$name/console.log" ||
	fail "the appliance did not take vappd's device rules"
grep -aq "setting usb.rules: $(stat -c %s "$work/rules") bytes from the host" "$work/run/$name/console.log" ||
	fail "vapp-init did not say what it was given"
stick=$(dev_line "QEMU USB HARDDRIVE" | sed -n 's/.*"busid":"\([^"]*\)".*/\1/p')
kbd=$(dev_line "QEMU USB Keyboard" | sed -n 's/.*"busid":"\([^"]*\)".*/\1/p')
[ -n "$stick" ] && [ -n "$kbd" ] || fail "the devices: $(as_alice list 2>&1)"
case $(dev_line "$stick") in *'"productId":1,"interfaceClasses":[8]'*'"allowed":true'*'"driver":"usb"'*) ;;
*) fail "the stick: $(dev_line "$stick")" ;; esac
echo "devices: the stick at $stick (class 08), the keyboard at $kbd (class 03)"

# The guests: BusyBox, vapp-usb, the modules for a USB disk.
read -ra mods <<<"$(usb_guest_mods | tr '\n' ' ')"
cat >"$work/alice.rc" <<EOF
# Run in the background as itself (not in a function's subshell), so
# that kill reaches vapp-usb.
vu=/bin/vapp-usb
export VAPP_USB_ADDR=serial:/dev/virtio-ports/vapp.usb
disk() { i=0; while [ ! -b /dev/sda ] && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i + 1)); done; }
\$vu attach $stick >/tmp/attach.out 2>&1 &
ap=\$!
disk
mkdir -p /mnt
if mount -t ext4 -o ro /dev/sda /mnt; then
	echo "ALICE-SUM \$(sha256sum </mnt/data.bin | cut -d' ' -f1)"
	umount /mnt
else
	echo "ALICE-SUM none: \$(ls /dev/sd* 2>&1) \$(cat /tmp/attach.out)"
fi
kill -TERM \$ap
wait \$ap
echo "ALICE-LET-GO rc=\$? \$(tr '\n' ' ' </tmp/attach.out)"
i=0; while [ -b /dev/sda ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done
echo "ALICE-DISK-AFTER \$(ls /dev/sda 2>/dev/null || echo gone)"
# Reading when the host detaches it: the reads fail, nothing hangs.
\$vu attach $stick >/tmp/attach3.out 2>&1 &
ap=\$!
disk
(while dd if=/dev/sda of=/dev/null bs=64k 2>/dev/null; do :; done; echo done >/tmp/dd.end) &
echo "ALICE-READING"
wait \$ap
echo "ALICE-DETACHED rc=\$? \$(tr '\n' ' ' </tmp/attach3.out)"
i=0; while [ ! -e /tmp/dd.end ] && [ \$i -lt 200 ]; do sleep 0.1; i=\$((i + 1)); done
echo "ALICE-READS-END \$(cat /tmp/dd.end 2>/dev/null || echo hung) \$(ls /dev/sda 2>/dev/null || echo gone)"
# Again, held until the appliance dies.
\$vu attach $stick >/tmp/attach2.out 2>&1 &
ap=\$!
disk
echo "ALICE-HOLD \$(ls /dev/sda 2>/dev/null)"
wait \$ap
echo "ALICE-END rc=\$? \$(tr '\n' ' ' </tmp/attach2.out)"
i=0; while [ -b /dev/sda ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done
echo "ALICE-DISK-END \$(ls /dev/sda 2>/dev/null || echo gone)"
EOF
cat >"$work/bob.rc" <<EOF
vu=/bin/vapp-usb
export VAPP_USB_ADDR=serial:/dev/virtio-ports/vapp.usb
out=\$(\$vu attach $stick 2>&1)
echo "BOB-STICK \$out rc=\$?"
\$vu attach $kbd >/tmp/kbd.out 2>&1 &
kp=\$!
i=0; while ! grep -q attached /tmp/kbd.out && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i + 1)); done
echo "BOB-HOLD \$(cat /tmp/kbd.out)"
wait \$kp
echo "BOB-END rc=\$? \$(tr '\n' ' ' </tmp/kbd.out)"
out=\$(\$vu assign $kbd bob 2>&1)
echo "BOB-ASSIGN \$out rc=\$?"
\$vu agent >/tmp/agent.out 2>&1 &
echo "BOB-AGENT"
upto() { i=0; while ! grep -q "\$1" /tmp/agent.out && [ \$i -lt 900 ]; do sleep 0.1; i=\$((i + 1)); done; }
upto "^attached"
echo "BOB-AGENT-HOLDS \$(tr '\n' ' ' </tmp/agent.out)"
upto "^detached"
echo "BOB-AGENT-LOST \$(tr '\n' ' ' </tmp/agent.out)"
EOF
for g in alice bob; do
	guest_initramfs "$work/$g.gz" "$work/$g.rc" "${mods[@]}" -b "$usb" || fail "initramfs for $g"
done

# bob first: refused the stick; holds the keyboard until alice detaches it.
# shellcheck disable=SC2046
guest_boot "$work/bob" "$work/bob.gz" $(usb_gate bob)
echo "$GUEST_PID" >>"$work/qemu.pids"
guest_wait "BOB-HOLD" 150 || fail "bob did not get the keyboard"
grep -aq "BOB-STICK vapp-usb: $stick: PERMISSION_DENIED: the device rules deny $stick to bob (rule 1) rc=1" \
	"$GUEST_DIR/console.log" || fail "bob and the stick: $(grep -a BOB-STICK "$GUEST_DIR/console.log")"
case $(dev_line "$stick") in *'"attachedTo"'*) fail "the stick left the appliance: $(dev_line "$stick")" ;; esac
case $(dev_line "$kbd") in *'"attachedTo":"bob"'*'"driver":"usbip-host"'*) ;;
*) fail "the keyboard while bob has it: $(dev_line "$kbd")" ;; esac
t0=$(date +%s%N)
as_alice detach "$kbd" || fail "alice could not detach the keyboard"
detach_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
# The way back waits for the kernel (200 ms at least) on the daemon's
# timers, after the answer: a daemon that slept through it answers later.
[ "$detach_ms" -lt 200 ] || fail "the Detach took $detach_ms ms: the daemon waited for the device before answering"
guest_wait "BOB-END" 30 || fail "bob's vapp-usb did not end"
grep -aq "BOB-END rc=0 attached $kbd.*detached $kbd" "$GUEST_DIR/console.log" ||
	fail "bob's end: $(grep -a BOB-END "$GUEST_DIR/console.log")"
grep -aq "$kbd (0627:0001) back from bob: detached by alice" "$work/run/$name/console.log" ||
	fail "the appliance did not say who detached the keyboard"
for _ in $(seq 50); do case $(dev_line "$kbd") in *'"driver":"usb"'*) break ;; esac; sleep 0.2; done
case $(dev_line "$kbd") in *'"attachedTo"'*) fail "the keyboard: $(dev_line "$kbd")" ;; *'"driver":"usb"'*) ;;
*) fail "the keyboard was not given back to its driver: $(dev_line "$kbd")" ;; esac
echo "bob: the stick refused (rule 1), the keyboard held, then detached by alice (answered in $detach_ms ms, the device given back on the appliance's timers) and driven by the appliance again"

# Assign: the administrator's (the host's gate); a guest's own try is the
# policy's to refuse.
guest_wait "BOB-AGENT" 30 || fail "bob's agent did not start"
grep -aq "BOB-ASSIGN vapp-usb: PERMISSION_DENIED.* rc=1" "$GUEST_DIR/console.log" ||
	fail "bob assigned himself a device: $(grep -a BOB-ASSIGN "$GUEST_DIR/console.log")"
assign() { "$vapp" call "$name" Assign "{\"busid\": \"$1\", \"guest\": \"$2\"}" 2>&1; }
out=$(assign "$stick" bob) && fail "the stick was assigned to bob: $out"
case $out in *PERMISSION_DENIED*"deny $stick to bob (rule 1)"*) ;; *) fail "assigning bob the stick: $out" ;; esac
out=$(assign "$kbd" bob) || fail "assigning bob the keyboard: $out"
guest_wait "BOB-AGENT-HOLDS" 90 || fail "bob's agent did not attach the keyboard"
grep -aq "BOB-AGENT-HOLDS assigned $kbd (0627:0001 QEMU USB Keyboard): attaching attached $kbd: vhci port" \
	"$GUEST_DIR/console.log" || fail "bob's agent: $(grep -a BOB-AGENT-HOLDS "$GUEST_DIR/console.log")"
case $(dev_line "$kbd") in *'"attachedTo":"bob"'*'"assignedTo":"bob"'*) ;;
*) fail "the keyboard assigned to bob: $(dev_line "$kbd")" ;; esac
case $(dev_line "$kbd") in *assignedToYou*) fail "alice is told the keyboard is hers: $(dev_line "$kbd")" ;; esac
out=$(as_alice attach "$kbd" 2>&1) && fail "alice took bob's keyboard: $out"
case $out in *"PERMISSION_DENIED: $kbd is assigned to bob"*) ;; *) fail "alice and bob's keyboard: $out" ;; esac
out=$(assign "$kbd" alice) || fail "assigning alice the keyboard: $out"
guest_wait "BOB-AGENT-LOST" 30 || fail "bob kept the keyboard assigned to alice"
grep -aq "BOB-AGENT-LOST .*detached $kbd" "$GUEST_DIR/console.log" ||
	fail "bob's loss: $(grep -a BOB-AGENT-LOST "$GUEST_DIR/console.log")"
grep -aq "$kbd (0627:0001) back from bob: assigned to alice by host" "$work/run/$name/console.log" ||
	fail "the appliance did not say why bob lost the keyboard"
case $(dev_line "$kbd") in *'"attachedTo"'*) fail "the keyboard: $(dev_line "$kbd")" ;;
*'"assignedTo":"alice","assignedToYou":true'*) ;; *) fail "the keyboard assigned to alice: $(dev_line "$kbd")" ;; esac
out=$(assign "$kbd" "") || fail "clearing the assignment: $out"
case $(dev_line "$kbd") in *assignedTo*) fail "still assigned: $(dev_line "$kbd")" ;; esac
echo "assign: bob's own refused by the policy, the stick to bob by the rules; the keyboard to bob: his agent attached it, alice refused it; to alice: bob lost it in order; cleared"
guest_stop

# A hostile holder: the host takes the keyboard and sends garbage.
"$vapp" call "$name" Attach "{\"busid\": \"$kbd\"}" >"$work/host-attach.out" 2>&1 &
hp=$!
for _ in $(seq 50); do grep -q '"data"' "$work/host-attach.out" && break; sleep 0.2; done
grep -q '"data"' "$work/host-attach.out" || fail "the host's Attach: $(cat "$work/host-attach.out")"
junk=$(head -c 4096 /dev/urandom | base64 -w0)
"$vapp" call "$name" Send "{\"busid\": \"$kbd\", \"data\": \"$junk\"}" >/dev/null 2>&1
printf '\xff\xff\xff\xff%.0s' $(seq 64) | base64 -w0 >"$work/junk2"
"$vapp" call "$name" Send "{\"busid\": \"$kbd\", \"data\": \"$(cat "$work/junk2")\"}" >/dev/null 2>&1
for _ in $(seq 50); do kill -0 "$hp" 2>/dev/null || break; sleep 0.2; done
kill "$hp" 2>/dev/null
wait "$hp" 2>/dev/null
out=$(as_alice status) || fail "the daemon does not answer after the garbage"
case $out in *'"attached"'*) fail "still attached after the garbage: $out" ;; esac
grep -aq "back from host" "$work/run/$name/console.log" || fail "the garbage: $(tail -n 5 "$work/run/$name/console.log")"
oops=$(grep -ac "Oops\|BUG:\|RIP:" "$work/run/$name/console.log")
echo "garbage from a holder: the appliance's kernel dropped it ($(grep -a 'back from host' "$work/run/$name/console.log" | tail -n 1 | sed 's/.*: //'); $oops oops lines from the appliance's kernel), the daemon answers"

# alice: the stick, mounted and read; let go; held again; the appliance killed.
# shellcheck disable=SC2046
guest_boot "$work/alice" "$work/alice.gz" $(usb_gate alice)
echo "$GUEST_PID" >>"$work/qemu.pids"
c=$GUEST_DIR/console.log
guest_wait "ALICE-READING" 200 || fail "alice did not get to reading"
sleep 1
as_alice detach "$stick" || fail "the host could not detach the stick from alice"
guest_wait "ALICE-READS-END" 60 || fail "alice's reads did not end"
grep -aq "ALICE-DETACHED rc=0 attached $stick.*detached $stick" "$c" || fail "alice's detach: $(grep -a ALICE-DETACHED "$c")"
grep -aq "ALICE-READS-END done gone" "$c" || fail "after the detach: $(grep -a ALICE-READS-END "$c")"
echo "detached while alice reads: her reads fail and end, her vapp-usb ends cleanly, the disk leaves her VM"
guest_wait "ALICE-HOLD" 100 || fail "alice did not get through"
grep -aq "ALICE-SUM $sum" "$c" || fail "the file on the stick: $(grep -a ALICE-SUM "$c") (want $sum)"
grep -aq "ALICE-LET-GO rc=0 attached $stick.*detached $stick" "$c" || fail "alice let go: $(grep -a ALICE-LET-GO "$c")"
grep -aq "ALICE-DISK-AFTER gone" "$c" || fail "the disk stayed: $(grep -a ALICE-DISK-AFTER "$c")"
grep -aq "ALICE-HOLD /dev/sda" "$c" || fail "alice's second attach: $(grep -a ALICE-HOLD "$c")"
echo "alice: the stick mounted read-only in her VM, the file's SHA-256 matches; let go, the disk left her VM"
pid1=$(vappd_qemu_pid "$name")
kill -9 "$pid1"
guest_wait "ALICE-DISK-END" 60 || fail "alice's vapp-usb did not end with the appliance"
grep -aq "ALICE-END rc=1 .*UNAVAILABLE" "$c" || fail "alice's end: $(grep -a ALICE-END "$c")"
grep -aq "ALICE-DISK-END gone" "$c" || fail "the disk stayed after the appliance died"
pid2=$(vappd_wait_restarted "$name" "$pid1" 120) || fail "vappd did not boot the appliance again"
echo "$pid2" >>"$work/qemu.pids"
for _ in $(seq 100); do dev_line "$stick" | grep -q '"driver":"usb"' && break; sleep 0.3; done
case $(dev_line "$stick") in *'"attachedTo"'*) fail "after the restart: $(dev_line "$stick")" ;;
*'"driver":"usb"'*) ;; *) fail "the stick after the restart: $(dev_line "$stick")" ;; esac
echo "the appliance killed: alice's vapp-usb ended (UNAVAILABLE), the disk left her VM; booted again, the stick is the appliance's"
# Unplugged while held (and assigned to its holder), then plugged again:
# the new device is assigned to no one.
as_alice watch >"$work/watch.out" 2>&1 &
wp=$!
# The watch is in place once it has listed the keyboard: only then is the
# assignment news (ASSIGN) rather than part of the first listing.
for _ in $(seq 50); do grep -q '"kind":"PLUG".*QEMU USB Keyboard' "$work/watch.out" && break; sleep 0.2; done
out=$(assign "$kbd" host) || fail "assigning the host the keyboard: $out"
"$vapp" call "$name" Attach "{\"busid\": \"$kbd\"}" >"$work/held.out" 2>&1 &
hp=$!
for _ in $(seq 100); do dev_line "$kbd" | grep -q '"attachedTo":"host"' && break; sleep 0.2; done
dev_line "$kbd" | grep -q '"attachedTo":"host"' || fail "the host did not get the keyboard: $(cat "$work/held.out")"
qmp "$name" device_del '{"id": "kbd"}' >"$work/qmp.out" || fail "QMP device_del: $(cat "$work/qmp.out")"
for _ in $(seq 100); do kill -0 "$hp" 2>/dev/null || break; sleep 0.2; done
kill -0 "$hp" 2>/dev/null && fail "the holder's stream did not end when the keyboard was unplugged"
wait "$hp" && fail "the holder's call ended well though the device is gone: $(cat "$work/held.out")"
grep -q UNAVAILABLE "$work/held.out" || fail "the holder's end: $(cat "$work/held.out")"
for _ in $(seq 50); do grep -q '"kind":"UNPLUG".*"busid":"'"$kbd"'"' "$work/watch.out" && break; sleep 0.2; done
grep -q '"kind":"UNPLUG".*"busid":"'"$kbd"'"' "$work/watch.out" || fail "no UNPLUG: $(cat "$work/watch.out")"
dev_line "QEMU USB Keyboard" && fail "an unplugged keyboard is listed"
qmp "$name" device_add '{"driver": "usb-kbd", "id": "kbd2"}' >"$work/qmp.out" ||
	fail "QMP device_add: $(cat "$work/qmp.out")"
for _ in $(seq 50); do grep -q '"kind":"PLUG".*QEMU USB Keyboard' "$work/watch.out" && [ "$(grep -c '"kind":"PLUG".*Keyboard' "$work/watch.out")" -ge 2 ] && break; sleep 0.2; done
[ "$(grep -c '"kind":"PLUG".*Keyboard' "$work/watch.out")" -ge 2 ] || fail "no PLUG for the new keyboard: $(cat "$work/watch.out")"
dev_line "QEMU USB Keyboard" | grep -q '"driver":"usb"' || fail "the new keyboard: $(as_alice list)"
dev_line "QEMU USB Keyboard" | grep -q assignedTo && fail "the new keyboard is assigned: $(dev_line Keyboard)"
grep -q '"kind":"ASSIGN".*"assignedTo":"host"' "$work/watch.out" || fail "no ASSIGN: $(cat "$work/watch.out")"
kill "$wp" 2>/dev/null
echo "unplugged while held: the holder's stream ended (UNAVAILABLE), UNPLUG seen; plugged again: PLUG, listed, assigned to no one"
echo "usb_vm: passed in $(( $(date +%s) - start )) s"
