#!/bin/bash
# xen_vappd.sh - vappd runs an appliance on real Xen (Xen 4.17 under QEMU
# TCG, tests/lib/xen.sh), from dom0, the way it runs one under QEMU:
#   - `vapp run` of the hello image (built by `vapp build`): vappd detects
#     dom0 (--hypervisor auto), makes the domain vapp-hello paused with xl
#     from the measured manifest and cmdline.xen, writes vapp.ctl's launch
#     lines (the measurement) into xenstore, unpauses it, and calls it ready
#     once its vchan answers HELLO;
#   - vapp-init reads the measurement from xenstore (/run/vapp/measurement
#     in the appliance matches vappd's) and says "ready" back through it;
#   - `vapp ps` shows it running under xen; `vapp call hello` reaches
#     SayHello through the broker (the host's gate), whose connection is
#     forwarded to the appliance's vchan; `vapp logs` has its console;
#   - guests are domains: alice and bob (--guest) call through vchans vappd
#     serves for each of them alone (gate-DOMID), the broker naming them by
#     the vchan they came on: alice's SayHello is answered and names her,
#     her Watch and bob's SayHello are denied by the policy; mallory, no
#     --guest, finds no gate at all;
#   - the domain destroyed behind vappd's back (xl destroy) is a crash: it
#     is made again, and answers again;
#   - what the appliance writes into its vapp/out is hostile input: 300
#     keys of 2 KiB of junk (lines far longer than any vapp-init sends,
#     no newline, control bytes) are read, dropped, removed, and vappd and
#     the appliance go on answering;
#   - direct channels: carol, whose whole-service allow says direct=yes,
#     finds in dom0's xenstore (readable by her alone) the address of a
#     vchan between her domain and the appliance's: SayHello and Watch
#     there name her label:carol, as vappd told the appliance; alice
#     cannot read carol's address nor map carol's vchan; bob, alice and
#     mallory get none; the address follows the appliance's restart, and
#     carol's end removes it and closes the appliance's listener; 300
#     calls each way give the round trip direct and through the broker;
#   - `vapp stop` sends poweroff through xenstore: vapp-init ends the
#     domain, and no vapp-hello domain is left; vapp.ctl's xenstore
#     directory is gone with it.
#   - the state volume is a loop device vappd holds, given to the domain as
#     xvda with no hotplug script of dom0's: the appliance mounts it, the
#     same volume after the restart (vappd made it with mkfs.ext4: its
#     mount count is 2 after the two boots), and the loop device is gone
#     after vapp stop.
# Skips (77) without Xen's packages; bounded by $XEN_TEST_LIMIT
# seconds (default 300).
# test-timeout: 360
set -u
cd "${TOP:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
limit=${XEN_TEST_LIMIT:-300}
start=$(date +%s)
. tests/lib/guest.sh
. tests/lib/xen.sh

xen_test_init vapp-xenvappd "$BUILD/bin/vapp" "$BUILD/bin/vappd" "$BUILD/bin/hello-server"

xen_hello_image "$work" --state >"$work/why" || fail "$(cat "$work/why")"

# A guest domain: calls the appliance through its gate, as itself.
cat >"$work/guest.rc" <<'EOF'
ln -s xenstore /usr/bin/xenstore-read
g=$(xenstore-read domid)
gate=xen:0:/local/domain/0/data/vapp/gate-$g
echo "G-CALL $(hello-client --timeout 20000 "$gate" "$(xenstore-read name)-user" 2>&1 | tr '\n' ' ')"
echo "G-WATCH $(hello-client --timeout 20000 --watch 2 "$gate" w 2>&1 | tr '\n' ' ')"
# A direct channel, where vappd made one for this guest.
i=0
until dd=$(xenstore-read /local/domain/0/data/vapp/direct-$g/hello 2>/dev/null); do
	i=$((i + 1)); [ $i -lt 25 ] || break; sleep 0.2
done
echo "G-DADDR ${dd:-none}"
if [ -n "$dd" ]; then
	echo "G-DIRECT $(hello-client --timeout 20000 "$dd" "$(xenstore-read name)-direct" 2>&1 | tr '\n' ' ')"
	echo "G-DWATCH $(hello-client --timeout 20000 --watch 2 "$dd" dw 2>&1 | tr '\n' ' ')"
	echo "G-RTT-DIRECT $(hello-client --timeout 20000 -n 300 "$dd" r 2>&1 >/dev/null)"
	echo "G-RTT-GATE $(hello-client --timeout 20000 -n 300 "$gate" r 2>&1 >/dev/null)"
fi
# The test gives alice carol's domid and the appliance's: she tries to read
# carol's address and to call on carol's direct vchan.
if other=$(xenstore-read attack 2>/dev/null); then
	set -- $other
	echo "G-PEEK $(xenstore-read /local/domain/0/data/vapp/direct-$1/hello 2>&1 | tr '\n' ' ')"
	echo "G-STEAL $(hello-client --timeout 5000 "xen:$2:/local/domain/$2/data/vapp/vapp@rpc-$1" thief 2>&1 | tr '\n' ' ')"
fi
echo G-DONE
# carol stays, for her direct channel to follow the appliance's restart.
[ "$(xenstore-read name)" = carol ] && sleep 600
EOF
guest_initramfs "$work/guest.gz" "$work/guest.rc" -m xen-evtchn -m xen-gntdev -m xen-gntalloc \
	-b "$BUILD/bin/hello-client" -b "$XEN_ROOT/usr/bin/xenstore:/usr/bin/xenstore" ||
	fail "the guests' initramfs"

cat >"$work/dom0.rc" <<'EOF'
up() { cut -d. -f1 /proc/uptime; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%d", (b - a) * 1000 }'; }
now() { cut -d' ' -f1 /proc/uptime; }
# wait_for SECONDS COMMAND...: until COMMAND succeeds
wait_for() { end=$(($(up) + $1)); shift; until "$@"; do [ $(up) -lt $end ] || return 1; sleep 0.3; done; }
mkdir -p /var/lib/vapp /run/vapp
echo 'vapp-broker:x:990:990::/nonexistent:/bin/false' >>/etc/passwd
echo 'vapp-broker:x:990:' >>/etc/group
cat >/tmp/policy <<'EOP'
vapp.hello.v1.Greeter.SayHello  alice  hello  allow
vapp.hello.v1.Greeter           host   hello  allow
vapp.hello.v1.Greeter           carol  hello  allow  direct=yes
EOP
vappd -f --trust-image-key --boot-timeout 90 --policy /tmp/policy --guest alice --guest bob --guest carol \
	>/tmp/vappd.log 2>&1 &
wait_for 20 test -S /run/vapp/vappd.sock || echo "D-NO-SOCKET"

t0=$(now)
vapp run --name hello /img/hello >/tmp/run.out 2>&1
rc=$?
echo "D-RUN $(tr '\n' '|' </tmp/run.out) rc=$rc"
echo "D-READY-MS $(ms $t0 $(now))"
echo "D-PS $(vapp ps hello 2>&1 | tr '\n' '|')"
addr=$(sed -n 's/.* on \(xen:.*\)$/\1/p' /tmp/run.out)
echo "D-ADDR $addr"
d=$(xl domid vapp-hello)
echo "D-KEYS $(xenstore-ls -p /local/domain/$d/vapp 2>&1 | tr '\n' ' ')"
echo "D-PERM $(xenstore-ls -p /local/domain/$d | sed -n 's/^vapp = .*(\(.*\))$/\1/p') want n$d"
echo "D-PIECES $(xenstore-ls /local/domain/$d/vapp/in | wc -l) $(xenstore-ls /local/domain/$d/vapp/out | wc -l)"
echo "D-CALL $(vapp call hello SayHello '{"name":"xen"}' 2>&1 | tr '\n' ' ')"
echo "D-DISK $(grep -a 'xvda' /run/vapp/hello/xl.cfg | tr -d '\n')"
img=$(readlink /run/vapp/hello/state.img)
echo "D-MOUNTED $(grep -ac 'state: /dev/xvda mounted on /var/lib/hello' /run/vapp/hello/console.log)"

for n in alice bob mallory carol; do XEN_PAUSED=1 xen_domu $n /boot/vmlinuz /boot/guest.gz 128 >/dev/null; done
carol=$(xl domid carol)
xenstore-write /local/domain/$(xl domid alice)/attack "$carol $d"
wait_for 10 xenstore-read /local/domain/0/data/vapp/direct-$carol/hello >/dev/null 2>&1
echo "D-DKEYS $(xenstore-ls -p /local/domain/0/data/vapp 2>&1 | grep -a direct | tr '\n' ' ')"
for n in alice bob mallory carol; do xl unpause $n; done
for n in alice bob mallory carol; do xen_console $n G-DONE 90 | grep -a "G-"; done
echo "D-LOGS $(vapp logs hello 2>&1 | grep -c 'vapp-init')"
# As the appliance could: junk in its vapp/out, from the next index on
# (vapp-init has written one line, "ready"; vappd removed it).
junk=$(head -c 1500 /dev/urandom | base64 -w 0 | tr 'A' '\001')
for i in $(seq 1 300); do xenstore-write /local/domain/$d/vapp/out/$i "$junk$i"; done
sleep 2
echo "D-JUNK left=$(xenstore-ls /local/domain/$d/vapp/out 2>/dev/null | wc -l) $(vapp ps hello | awk '$1 == "hello" { print $2 }') $(vapp call hello SayHello '{"name":"junk"}' 2>&1 | tr '\n' ' ')"
xl destroy vapp-hello
restarted() { vapp ps hello 2>/dev/null | awk '$1 == "hello" && $2 == "running" && $4 >= 1 { ok = 1 } END { exit !ok }'; }
t1=$(now)
wait_for 60 restarted && echo "D-RESTARTED-MS $(ms $t1 $(now))"
echo "D-PS2 $(vapp ps hello 2>&1 | tr '\n' '|')"
d2=$(xl domid vapp-hello)
echo "D-DOMIDS $d $d2"
addr=$(vapp ps -l hello | sed -n 's/.* on \(xen:.*\)$/\1/p')
moved() { xenstore-read /local/domain/0/data/vapp/direct-$carol/hello 2>/dev/null | grep -q "^xen:$d2:"; }
wait_for 10 moved
echo "D-DADDR2 $(xenstore-read /local/domain/0/data/vapp/direct-$carol/hello 2>&1) want xen:$d2:"
echo "D-CALL2 $(vapp call hello SayHello '{"name":"again"}' 2>&1 | tr '\n' ' ')"
xl destroy carol
ddir_gone() { ! xenstore-read /local/domain/0/data/vapp/direct-$carol >/dev/null 2>&1; }
wait_for 10 ddir_gone
closed() { grep -aq 'direct carol on vapp.rpc: closed' /run/vapp/hello/console.log; }
wait_for 10 closed
echo "D-DGONE dir=$(xenstore-read /local/domain/0/data/vapp/direct-$carol 2>/dev/null | wc -c) closed=$(grep -ac 'direct carol on vapp.rpc: closed' /run/vapp/hello/console.log)"
echo "D-STOP $(vapp stop hello 2>&1 | tr '\n' '|') rc=$?"
echo "D-POWEROFF $(grep -ac 'vapp-init: poweroff requested (vapp.ctl)' /run/vapp/hello/console.log)"
echo "D-LEFT $(xl list | grep -c vapp-hello) keys=$(xenstore-ls /local/domain/$d2/vapp 2>/dev/null | wc -l) direct=$(xenstore-read /local/domain/0/data/vapp/direct-$carol/hello 2>/dev/null | wc -c)"
loops() { cat /sys/block/loop*/loop/backing_file 2>/dev/null | grep -c state.img; }
no_loops() { [ "$(loops)" = 0 ]; }
wait_for 10 no_loops
echo "D-LOOPS $(loops)"
echo "D-E2FS $(dumpe2fs -h "$img" 2>/dev/null | grep -E '^Mount count:' | tr -s ' ' | tr '\n' '|')"
sed 's/^/vappd| /' /tmp/vappd.log | tail -n 60
kill %1; wait
echo XEN-TEST-DONE
EOF
xen_dom0_initramfs "$work/dom0.gz" "$work/dom0.rc" -b "$BUILD/bin/vappd" -b "$BUILD/bin/vapp" \
	-b /sbin/mke2fs:/sbin/mkfs.ext4 -b /sbin/dumpe2fs -f /etc/mke2fs.conf:/etc/mke2fs.conf \
	"${XEN_IMG_FILES[@]}" -f "$GUEST_VMLINUZ:/boot/vmlinuz" -f "$work/guest.gz:/boot/guest.gz" ||
	fail "dom0's initramfs"
xen_boot "$work/boot" "$work/dom0.gz"
guest_wait XEN-TEST-DONE "$(( limit - ($(date +%s) - start) ))" || fail "Xen's run did not finish"
c=$work/boot/console.log
line() { grep -a "$1" "$c" | head -n 1; }

case $(line D-RUN) in *"rc=0"*) ;; *) fail "vapp run: $(line D-RUN)" ;; esac
echo "$(line D-PS)" | grep -q "running" || fail "vapp ps: $(line D-PS)"
echo "$(line D-PS)" | grep -q "xen" || fail "vapp ps does not say xen: $(line D-PS)"
case $(line D-CALL) in *"Hello, xen!"*) ;; *) fail "SayHello: $(line D-CALL)" ;; esac
case $(line "alice| G-CALL") in *"Hello, alice-user!"*"alice"*) ;; *) fail "alice's SayHello: $(line "alice| G-CALL")" ;; esac
case $(line "alice| G-WATCH") in *PERMISSION_DENIED*) ;; *) fail "alice's Watch: $(line "alice| G-WATCH")" ;; esac
case $(line "bob| G-CALL") in *PERMISSION_DENIED*) ;; *) fail "bob's SayHello: $(line "bob| G-CALL")" ;; esac
case $(line "mallory| G-CALL") in *"Hello"*|*PERMISSION_DENIED*|"") fail "mallory reached a gate: $(line "mallory| G-CALL")" ;; esac
set -- $(line D-PERM | tr -d '\r')
[ $# = 4 ] && [ "$2" = "$4" ] || fail "vapp.ctl's xenstore directory is not the appliance's alone: $(line D-PERM) ($(line D-KEYS))"
case $(line D-PIECES | tr -d '\r') in "D-PIECES 0 0") ;; *) fail "vapp.ctl's pieces not taken: $(line D-PIECES) ($(line D-KEYS))" ;; esac
[ "$(line D-LOGS | tr -dc 0-9)" -ge 2 ] 2>/dev/null || fail "vapp logs: $(line D-LOGS)"
case $(line D-JUNK) in *"left=0 running"*"Hello, junk!"*) ;; *) fail "junk in vapp/out: $(line D-JUNK)" ;; esac
grep -aq "D-RESTARTED-MS" "$c" || fail "not made again after xl destroy: $(line D-PS2)"
set -- $(line D-DOMIDS | cut -d' ' -f2-)
[ "${1:-x}" != "${2:-x}" ] || fail "the same domain after a restart: $(line D-DOMIDS)"
case $(line D-CALL2) in *"Hello, again!"*) ;; *) fail "SayHello after the restart: $(line D-CALL2)" ;; esac
case $(line D-STOP) in *"rc=0"*) ;; *) fail "vapp stop: $(line D-STOP)" ;; esac
case $(line D-LEFT | tr -d '\r') in *"D-LEFT 0 keys=0 direct=0") ;; *) fail "left after stop: $(line D-LEFT)" ;; esac
[ "$(line D-POWEROFF | tr -dc 0-9)" = 1 ] || fail "vapp-init was not asked to power off on vapp.ctl: $(line D-POWEROFF)"
case $(line D-DISK) in *"script=/bin/true,target=/dev/loop"*) ;; *) fail "xl.cfg's disk is not vappd's loop device: $(line D-DISK)" ;; esac
[ "$(line D-MOUNTED | tr -dc 0-9)" -ge 1 ] 2>/dev/null || fail "the appliance did not mount its state volume: $(line D-MOUNTED)"
case $(line D-E2FS | tr -d '\r') in *"Mount count: 2|"*) ;; *) fail "the state volume was not the appliance's in both boots: $(line D-E2FS)" ;; esac
[ "$(line D-LOOPS | tr -dc 0-9)" = 0 ] || fail "the loop device outlived vapp stop: $(line D-LOOPS)"
# Direct channels: carol's alone, whole service, named by vappd; alice can
# neither read carol's address nor use carol's vchan.
case $(line "carol| G-DIRECT") in *"Hello, carol-direct! (caller label:carol)"*) ;; *) fail "carol's direct SayHello: $(line "carol| G-DIRECT") ($(line D-DKEYS))" ;; esac
case $(line "carol| G-DWATCH") in *"Hello #2, dw!"*) ;; *) fail "carol's direct Watch: $(line "carol| G-DWATCH")" ;; esac
case $(line "carol| G-CALL") in *"Hello, carol-user!"*"caller label:carol"*) ;; *) fail "carol's SayHello through the broker: $(line "carol| G-CALL")" ;; esac
for n in alice bob mallory; do
	case $(line "$n| G-DADDR" | tr -d '\r') in *"G-DADDR none") ;; *) fail "$n has a direct channel: $(line "$n| G-DADDR")" ;; esac
done
case $(line D-DKEYS | tr -d '\r') in *"(n0,r"*")"*) ;; *) fail "the direct key is not dom0's, readable by carol alone: $(line D-DKEYS)" ;; esac
case $(line "alice| G-PEEK") in *"Hello"*|*"xen:"*) fail "alice read carol's direct address: $(line "alice| G-PEEK")" ;; "") fail "alice did not try to read carol's address" ;; esac
case $(line "alice| G-STEAL") in *"Hello"*|"") fail "alice called on carol's direct vchan: $(line "alice| G-STEAL")" ;; esac
set -- $(line D-DADDR2 | tr -d '\r')
case $2 in "$4"*) ;; *) fail "carol's direct address did not follow the restarted appliance: $(line D-DADDR2)" ;; esac
case $(line D-DGONE | tr -d '\r') in "D-DGONE dir=0 closed=1") ;; *) fail "carol's end did not close her direct channel: $(line D-DGONE)" ;; esac
grep -aq "vappd| .*hello: vapp-init started the daemon" "$c" || fail "vapp-init's ready did not reach vappd through xenstore"
echo "vappd under Xen: ready $(line D-READY-MS | sed 's/.*MS //') ms after vapp run; made again $(line D-RESTARTED-MS | sed 's/.*MS //') ms after xl destroy; vapp stop through xenstore"
echo "guest to appliance, 300 SayHello calls each way: direct $(line "carol| G-RTT-DIRECT" | sed 's/.*G-RTT-DIRECT //'); through dom0's broker $(line "carol| G-RTT-GATE" | sed 's/.*G-RTT-GATE //')"
echo "xen_vappd: passed in $(( $(date +%s) - start )) s"
