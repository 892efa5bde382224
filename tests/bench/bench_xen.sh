#!/bin/bash
# bench_xen.sh [--json FILE]: libvrpc over a real vchan, Xen 4.17 under QEMU
# (TCG; tests/lib/xen.sh): the round trip of a 64-byte Echo call from a PV
# domU to echo_server in dom0 (xen:0:PATH), against the same call over the
# shm transport on the host, and against shm inside the domU (the same
# emulated CPU, no hypervisor in the path: what TCG costs alone); and how
# long a PV domU takes from xl create to its /init; and vappd's launch of
# the hello image (built by vapp build, without its state volume) from
# `vapp run` to its service answering HELLO, against the same image's
# domain made by hand with xl up to its daemon serving its vchan (the
# same kernel and initramfs, nothing of vappd's). Under TCG only the ratios
# mean much: every hypercall and event channel is emulated.
# Then a guest domain calls that appliance's SayHello, 1000 times each way:
# on the direct vchan the policy grants it (direct=yes) and through dom0's
# broker (its gate).
# Figures: xen_rtt_p50_us (baseline: host shm), xen_domu_shm_rtt_p50_us,
# xen_domu_boot_ms, xen_boot_to_ready_ms (baseline: xen_bare_boot_ms),
# xen_direct_rtt_p50_us (baseline: xen_brokered_rtt_p50_us).
set -u
cd "${TOP:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
json=
[ "${1:-}" = --json ] && json=$2
. tests/lib/guest.sh
. tests/lib/xen.sh
. tests/lib/bench_emit.sh
CALLS=${XEN_BENCH_CALLS:-2000}
xen_prepare || { echo "bench_xen: Xen's packages cannot be had"; exit 1; }
for b in tests/progs/echo_server tests/progs/echo_rtt bin/vappd bin/vapp bin/hello-server \
	bin/hello-client; do
	[ -x "$BUILD/$b" ] || { echo "bench_xen: build $BUILD/$b first"; exit 1; }
done
work=$(mktemp -d /tmp/vapp-bench-xen.XXXXXX)
ES=
guest_on_exit '[ -n "$ES" ] && kill "$ES" 2>/dev/null; [ -n "${XEN_KEEP:-}" ] || rm -rf "$work"'

# The host's shm, same programs.
"$BUILD/tests/progs/echo_server" "shm:$work/host.shm" >"$work/es.out" 2>&1 &
ES=$!
for _ in $(seq 50); do grep -q READY "$work/es.out" && break; sleep 0.1; done
host=$("$BUILD/tests/progs/echo_rtt" "shm:$work/host.shm" "$((CALLS * 10))") || { echo "bench_xen: host shm failed"; exit 1; }
kill "$ES"; wait "$ES" 2>/dev/null; ES=

xen_hello_image "$work" >"$work/why" || { echo "bench_xen: $(cat "$work/why")"; exit 1; }

P=/local/domain/0/data/vapp
cat >"$work/domu.rc" <<RC
echo_server shm:/tmp/d.shm >/tmp/es.out 2>&1 &
i=0; while ! grep -q READY /tmp/es.out && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done
echo "B-SHM \$(echo_rtt shm:/tmp/d.shm $CALLS 2>&1)"
echo "B-XEN \$(echo_rtt xen:0:$P/echo $CALLS 2>&1)"
echo B-DONE
RC
# The guest: SayHello on its direct vchan, then through its gate.
cat >"$work/guest.rc" <<'RC'
ln -s xenstore /usr/bin/xenstore-read
g=$(xenstore-read domid)
i=0
until dd=$(xenstore-read /local/domain/0/data/vapp/direct-$g/hello 2>/dev/null); do
	i=$((i + 1)); [ $i -lt 50 ] || break; sleep 0.2
done
echo "B-DIRECT $(hello-client --timeout 30000 -n 1000 "$dd" d 2>&1 >/dev/null)"
echo "B-GATE $(hello-client --timeout 30000 -n 1000 "xen:0:/local/domain/0/data/vapp/gate-$g" b 2>&1 >/dev/null)"
echo G-DONE
RC
cat >"$work/dom0.rc" <<RC
XEN_PAUSED=1
d=\$(xen_domu b1 /boot/vmlinuz /boot/domu.gz 192)
echo_server xen:\$d:$P/echo >/tmp/es.out 2>&1 &
i=0; while ! grep -q READY /tmp/es.out && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done
t0=\$(cut -d' ' -f1 /proc/uptime)
xl unpause b1
i=0; while ! grep -q GUEST-INIT-OK /var/log/xen/guest-b1.log 2>/dev/null && [ \$i -lt 1200 ]; do sleep 0.05; i=\$((i + 1)); done
t1=\$(cut -d' ' -f1 /proc/uptime)
echo "B-BOOT \$(awk -v a=\$t0 -v b=\$t1 'BEGIN { printf "%d", (b - a) * 1000 }')"
xen_console b1 B-DONE 600
xl destroy b1
# The hello image by hand: xl create to its daemon serving its vchan.
t0=\$(cut -d' ' -f1 /proc/uptime)
XEN_PAUSED=1 XEN_EXTRA="\$(cat /img/hello/cmdline.xen)" xen_domu bare /img/hello/kernel /img/hello/initramfs 128 >/tmp/bare.id
xl unpause bare
k=/local/domain/\$(cat /tmp/bare.id)/data/vapp/vapp@rpc/event-channel
i=0; while [ -z "\$(xenstore-read \$k 2>/dev/null)" ] && [ \$i -lt 600 ]; do sleep 0.05; i=\$((i + 1)); done
t1=\$(cut -d' ' -f1 /proc/uptime)
echo "B-BARE \$(awk -v a=\$t0 -v b=\$t1 'BEGIN { printf "%d", (b - a) * 1000 }')"
xl destroy bare
# The same under vappd: vapp run to HELLO answered (vappd's own count,
# from xl create on).
mkdir -p /run/vapp /var/lib/vapp
echo 'vapp-broker:x:990:990::/nonexistent:/bin/false' >>/etc/passwd
echo 'vapp-broker:x:990:' >>/etc/group
echo 'vapp.hello.v1.Greeter g1 hello allow direct=yes' >/tmp/policy
vappd -f --trust-image-key --boot-timeout 120 --policy /tmp/policy --guest g1 >/tmp/vappd.log 2>&1 &
i=0; while [ ! -S /run/vapp/vappd.sock ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done
echo "B-READY \$(vapp run --name hello /img/hello 2>&1 | sed -n 's/.*ready in \([0-9]*\) ms.*/\1/p')"
xen_domu g1 /boot/vmlinuz /boot/guest.gz 128 >/dev/null
xl unpause g1 2>/dev/null  # XEN_PAUSED is still set from above
xen_console g1 G-DONE 300 | grep -a "B-"
xl destroy g1
vapp stop hello >/dev/null 2>&1
kill %1 2>/dev/null
echo XEN-BENCH-DONE
RC
guest_initramfs "$work/domu.gz" "$work/domu.rc" -m xen-evtchn -m xen-gntdev -m xen-gntalloc \
	-b "$BUILD/tests/progs/echo_server" -b "$BUILD/tests/progs/echo_rtt" || exit 1
guest_initramfs "$work/guest.gz" "$work/guest.rc" -m xen-evtchn -m xen-gntdev -m xen-gntalloc \
	-b "$BUILD/bin/hello-client" -b "$XEN_ROOT/usr/bin/xenstore:/usr/bin/xenstore" || exit 1
xen_dom0_initramfs "$work/dom0.gz" "$work/dom0.rc" -b "$BUILD/tests/progs/echo_server" \
	-b "$BUILD/bin/vappd" -b "$BUILD/bin/vapp" "${XEN_IMG_FILES[@]}" \
	-f "$GUEST_VMLINUZ:/boot/vmlinuz" -f "$work/domu.gz:/boot/domu.gz" \
	-f "$work/guest.gz:/boot/guest.gz" || exit 1
xen_boot "$work/boot" "$work/dom0.gz"
guest_wait XEN-BENCH-DONE 900 || { echo "bench_xen: the run did not finish"; exit 1; }
c=$work/boot/console.log
p50() { grep -a "$1" "$c" | head -n 1 | sed -n 's/.*ECHO-RTT p50 \([0-9.]*\).*/\1/p'; }
xen=$(p50 "B-XEN") domu=$(p50 "B-SHM") hostp=$(echo "$host" | sed -n 's/.*p50 \([0-9.]*\).*/\1/p')
boot=$(grep -a "B-BOOT" "$c" | head -n 1 | sed -n 's/.*B-BOOT \([0-9]*\).*/\1/p')
[ -n "$xen" ] && [ -n "$domu" ] && [ -n "$hostp" ] ||
	{ echo "bench_xen: no figures: $(grep -a 'B-' "$c" | tr '\n' ' ')"; exit 1; }
bench_emit xen_rtt_p50_us "$xen" us "$hostp"
bench_emit xen_domu_shm_rtt_p50_us "$domu" us "$hostp"
bench_emit xen_domu_boot_ms "${boot:-0}" ms
# emit_pair WHAT BASE_NAME BASE NAME VALUE: the baseline and the figure
# against it, or why there are none.
emit_pair() {
	if [ -n "$3" ] && [ -n "$5" ]; then
		bench_emit "$2" "$3" "${2##*_}"
		bench_emit "$4" "$5" "${4##*_}" "$3"
	else
		echo "bench_xen: no $1 figures: $(grep -a "$6" "$c" | tr '\n' ' ')"
	fi
}
emit_pair launch xen_bare_boot_ms "$(grep -a "B-BARE" "$c" | head -n 1 | tr -dc '0-9')" \
	xen_boot_to_ready_ms "$(grep -a "B-READY" "$c" | head -n 1 | tr -dc '0-9')" 'B-BARE\|B-READY'
rtt() { grep -a "g1| $1" "$c" | head -n 1 | sed -n 's/.*rtt_p50_us \([0-9]*\).*/\1/p'; }
emit_pair guest xen_brokered_rtt_p50_us "$(rtt B-GATE)" xen_direct_rtt_p50_us "$(rtt B-DIRECT)" \
	'B-DIRECT\|B-GATE'
awk -v x="$xen" -v d="$domu" 'BEGIN { printf "the vchan against shm in the same domU: %.2f\n", x / d }'
