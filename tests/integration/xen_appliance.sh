#!/bin/bash
# xen_appliance.sh - an appliance image as `vapp build` makes it (the hello
# example) boots on real Xen (Xen 4.17 under QEMU TCG, tests/lib/xen.sh)
# as a PV domU with its measured kernel, initramfs and Xen command line
# (cmdline.xen), and is called over a vchan:
#   - vapp-init sees Xen: it loads the image's Xen modules
#     (/etc/vapp/modules.xen) and waits for no virtio port;
#   - the daemon's chan:vapp.rpc is a vchan granted to dom0 at the domain's
#     data/vapp/vapp@rpc; dom0 calls SayHello and Watch there, the
#     appliance seeing domain 0 as the caller;
#   - xl shutdown: vapp-init stops the daemon and ends the domain.
# dom0's xl launches it by hand, from the image's files (vappd's launch is
# xen_vappd.sh), without its state volume: the disk is vappd's to give
# (runtime/vappd/xen_disk.c). Skips (77) without Xen's packages; bounded
# by $XEN_TEST_LIMIT seconds (default 240).
# test-timeout: 300
set -u
cd "${TOP:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
limit=${XEN_TEST_LIMIT:-240}
start=$(date +%s)
. tests/lib/guest.sh
. tests/lib/xen.sh

xen_test_init vapp-xenapp "$BUILD/bin/vapp" "$BUILD/bin/hello-server" "$BUILD/bin/hello-client"

xen_hello_image "$work" >"$work/why" || fail "$(cat "$work/why")"
cat >"$work/dom0.rc" <<EOF
XEN_PAUSED=1
XEN_EXTRA="$(cat "$work/img/cmdline.xen")"
d=\$(xen_domu hello /boot/app.kernel /boot/app.initramfs 128)
echo "A-DOMU \$d"
k=\$(printf /local/domain/%s/data/vapp/vapp@rpc \$d)
t0=\$(cut -d' ' -f1 /proc/uptime)
xl unpause hello
up() { cut -d. -f1 /proc/uptime; }
end=\$((\$(up) + 60))
while [ -z "\$(xenstore-read \$k/event-channel 2>/dev/null)" ] && [ \$(up) -lt \$end ]; do sleep 0.2; done
[ \$(up) -lt \$end ] || { xen_console hello nothing 0; xl list; }
t1=\$(cut -d' ' -f1 /proc/uptime)
echo "A-SERVING-MS \$(awk -v a=\$t0 -v b=\$t1 'BEGIN { printf "%d", (b - a) * 1000 }')"
echo "A-PERMS \$(xenstore-ls -p \$k | tr '\n' ' ')"
echo "A-CALL \$(hello-client --timeout 30000 xen:\$d:\$k xen-user 2>&1)"
echo "A-WATCH \$(hello-client --timeout 30000 --watch 2 xen:\$d:\$k w 2>&1 | tr '\n' '|')"
timeout 60 xl shutdown -w hello >/dev/null 2>&1
echo "A-SHUTDOWN rc=\$? left=\$(xl list 2>/dev/null | grep -c '^hello ')"
xen_console hello poweroff 1
echo XEN-TEST-DONE
EOF
xen_dom0_initramfs "$work/dom0.gz" "$work/dom0.rc" -b "$BUILD/bin/hello-client" \
	-f "$work/img/kernel:/boot/app.kernel" -f "$work/img/initramfs:/boot/app.initramfs" ||
	fail "dom0's initramfs"
xen_boot "$work/boot" "$work/dom0.gz"
guest_wait XEN-TEST-DONE "$(( limit - ($(date +%s) - start) ))" || fail "Xen's run did not finish"
c=$work/boot/console.log
line() { grep -a "$1" "$c" | head -n 1; }

grep -aq "hello| vapp-init: under Xen" "$c" || fail "vapp-init did not see Xen"
case $(line A-PERMS) in *"(n"[1-9]*",r0)"*) ;; *) fail "the channel's permissions: $(line A-PERMS)" ;; esac
case $(line A-CALL) in *"Hello, xen-user! (caller domid:0)"*) ;; *) fail "SayHello: $(line A-CALL)" ;; esac
[ "$(line A-WATCH | tr '|' '\n' | grep -c 'Hello #')" -ge 2 ] || fail "Watch: $(line A-WATCH)"
case $(line A-SHUTDOWN) in *"rc=0 left=0"*) ;; *) fail "xl shutdown: $(line A-SHUTDOWN)" ;; esac
grep -aq "hello| vapp-init: poweroff requested" "$c" || fail "vapp-init did not power off"
echo "the hello image on Xen: serving its channel $(line A-SERVING-MS | sed 's/.*MS //') ms after xl unpause; SayHello and Watch from dom0 (caller domid:0); xl shutdown ended it through vapp-init"
echo "xen_appliance: passed in $(( $(date +%s) - start )) s"
