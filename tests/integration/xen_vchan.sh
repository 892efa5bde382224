#!/bin/bash
# xen_vchan.sh - libvrpc's xen transport over real vchans: Xen 4.17 under
# QEMU (TCG), dom0 and one PV domU (tests/lib/xen.sh), each side checked
# against Xen's own libxenvchan peer, vchan-socket-proxy, an implementation
# that is not ours:
#   - Xen's client, our server: in the domU, vchan-socket-proxy bridges a
#     unix socket to a vchan that hello-server serves in dom0
#     (xen:DOMID:PATH); hello-client calls SayHello, then Watch on the same
#     path (the server publishes a fresh vchan there after each client);
#   - our client, Xen's server: in dom0, vchan-socket-proxy -m server
#     serves the vchan and bridges it to hello-server's unix socket;
#     hello-client in the domU calls xen:0:PATH, SayHello and Watch. Up to
#     6 tries each: the proxy loses a wake-up when a client writes at once
#     after connecting (its wait for the connection consumes the event of
#     the first data too, then it select()s for ever; seen here in about 1
#     try of 4 with other VMs running: the proxy's log then shows no byte
#     read from the vchan until hello-server's 5 s HELLO deadline), a bug
#     of Xen's tool that our listener does not have (the "kick" in
#     transport_xen.c);
#   - a liar: a domU client maps the vchan and sets the producer index of
#     its ring 2^30 past what it wrote (tests/progs/xen_ring_liar.c): the
#     server shuts that vchan (EPROTO) at once, and then serves two more
#     clients, one after the other, at one path;
#   - an appliance's channel, "chan:vapp.rpc": hello-server in the domU
#     serves it as a vchan granted to dom0 at its own data/vapp/vapp@rpc,
#     and dom0 calls it twice (a fresh vchan for each connection), the
#     server seeing the caller as domain 0.
# Each server's path is granted to the domU alone: the domU is created
# paused, the listeners are made for its domid, then it runs.
# Skips (77) when Xen's packages cannot be had; bounded by $XEN_TEST_LIMIT
# seconds (default 240).
# test-timeout: 300
set -u
cd "${TOP:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
limit=${XEN_TEST_LIMIT:-240}
start=$(date +%s)
. tests/lib/guest.sh
. tests/lib/xen.sh

xen_test_init vapp-xen "$BUILD/bin/hello-server" "$BUILD/bin/hello-client" \
	"$BUILD/tests/progs/xen_ring_liar"

P=/local/domain/0/data/vapp
cat >"$work/domu.rc" <<EOF
P=$P
# The appliance's side: its channel, served for dom0.
VRPC_DEBUG=1 hello-server --attach chan:vapp.rpc >/tmp/chan.out 2>/tmp/chan.err &
hc() { hello-client --timeout 30000 "\$@" 2>&1; }
sock() { i=0; while [ ! -S "\$1" ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done; }
# Xen's client, our server.
vchan-socket-proxy 0 \$P/a /tmp/a.sock 2>/tmp/pa.log &
sock /tmp/a.sock
out=\$(hc unix:/tmp/a.sock alice)
echo "U-A rc=\$? \$out"
out=\$(hc --watch 3 unix:/tmp/a.sock wally | tr '\n' '|')
echo "U-AW \$out"
# Our client, Xen's server (see "Up to 6 tries" above).
tries() { n=1; while ! out=\$(hello-client --timeout 5000 "\$@" 2>&1) && [ \$n -lt 6 ]; do n=\$((n + 1)); done; }
tries xen:0:\$P/b bob
echo "U-B tries=\$n \$out"
tries --watch 3 xen:0:\$P/bw betty
echo "U-BW tries=\$n \$(echo "\$out" | tr '\n' '|')"
# The liar, then an honest client of the same server.
echo "U-LIAR \$(xen_ring_liar 0 \$P/liar 20 2>&1 | tr '\n' ' ')"
out=\$(hc xen:0:\$P/after carol)
echo "U-AFTER rc=\$? \$out"
out=\$(hc xen:0:\$P/after dave)
echo "U-AGAIN rc=\$? \$out"
# dom0's two calls on the channel (each connection's end is logged).
i=0; while [ "\$(grep -c 'connection closed' /tmp/chan.err)" -lt 2 ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done
echo "U-CHAN-SERVED \$(grep -c 'connection closed' /tmp/chan.err) \$(cat /tmp/chan.out)"
echo U-DONE
EOF
cat >"$work/dom0.rc" <<EOF
P=$P
XEN_PAUSED=1
d=\$(xen_domu u1 /boot/vmlinuz /boot/domu.gz 192)
echo "XEN-DOMU \$d"
VRPC_DEBUG=1 hello-server --listen xen:\$d:\$P/a --listen xen:\$d:\$P/liar \\
	--listen xen:\$d:\$P/after --listen unix:/tmp/b.sock >/tmp/hs.out 2>/tmp/hs.err &
hs=\$!
i=0; while ! grep -q ready /tmp/hs.out && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done
vchan-socket-proxy -v -m server \$d \$P/b /tmp/b.sock 2>/tmp/pb.log &
vchan-socket-proxy -v -m server \$d \$P/bw /tmp/b.sock 2>/tmp/pbw.log &
i=0; while [ -z "\$(xenstore-read \$P/bw/event-channel 2>/dev/null)" ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done
echo "XEN-PERMS \$(xenstore-ls -p \$P/a | tr '\n' ' ')"
xl unpause u1
(k=\$(printf /local/domain/%s/data/vapp/vapp@rpc \$d)
i=0; while [ -z "\$(xenstore-read \$k/event-channel 2>/dev/null)" ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done
echo "D-CHAN-PERMS \$(xenstore-ls -p \$k | tr '\n' ' ')"
echo "D-CHAN1 \$(hello-client --timeout 30000 xen:\$d:\$k one 2>&1)"
echo "D-CHAN2 \$(hello-client --timeout 30000 xen:\$d:\$k two 2>&1)") &
xen_console u1 U-DONE $((limit - 60))
echo "XEN-SERVER \$(kill -0 \$hs 2>/dev/null && echo alive || echo gone)"
sed 's/^/hs| /' /tmp/hs.err
# What Xen's proxy says it moved: a try that timed out shows no
# "from-vchan" before its "disconnected".
for f in pb pbw; do cut -c1-60 /tmp/\$f.log | sed "s/[^ -~]/./g; s/^/\$f| /"; done
echo XEN-TEST-DONE
EOF

# vchan-socket-proxy opens privcmd (xc_interface_open) even as a client.
read -ra domu_mods <<<"-m xen-evtchn -m xen-gntdev -m xen-gntalloc -m xen-privcmd"
libgcc=$(ldconfig -p | awk '/libgcc_s.so.1 .*x86-64/ { print $NF; exit }')
guest_initramfs "$work/domu.gz" "$work/domu.rc" "${domu_mods[@]}" \
	-b "$BUILD/bin/hello-client" -b "$BUILD/bin/hello-server" -b "$BUILD/tests/progs/xen_ring_liar" \
	-b "$XEN_ROOT$XEN_BIN/vchan-socket-proxy:/bin/vchan-socket-proxy" \
	-f "$libgcc:/lib/x86_64-linux-gnu/libgcc_s.so.1" || fail "the domU's initramfs"
xen_dom0_initramfs "$work/dom0.gz" "$work/dom0.rc" -b "$BUILD/bin/hello-server" -b "$BUILD/bin/hello-client" \
	-f "$GUEST_VMLINUZ:/boot/vmlinuz" -f "$work/domu.gz:/boot/domu.gz" || fail "dom0's initramfs"
xen_boot "$work/boot" "$work/dom0.gz"
guest_wait XEN-TEST-DONE "$(( limit - ($(date +%s) - start) ))" || fail "Xen's run did not finish"
c=$work/boot/console.log
echo "Xen, dom0 and the domU ran in $(( GUEST_WAIT_MS / 1000 )) s"
line() { grep -a "$1" "$c" | head -n 1; }

# The vchans were granted to the domU alone (n0: dom0 owns, no one else
# reads; r1: the domU reads).
case $(line XEN-PERMS) in *"(n0,r"*) ;; *) fail "the vchan's xenstore permissions: $(line XEN-PERMS)" ;; esac
case $(line "U-A rc") in *"U-A rc=0 Hello, alice"*) ;; *) fail "Xen's client, our server: $(line "U-A rc")" ;; esac
[ "$(line U-AW | grep -o wally | wc -l)" -ge 1 ] && [ "$(line U-AW | tr '|' '\n' | grep -c .)" -ge 3 ] ||
	fail "Watch through Xen's client: $(line U-AW)"
case $(line "U-B tries") in *"Hello, bob"*) ;; *) fail "our client, Xen's server: $(line "U-B tries")" ;; esac
[ "$(line U-BW | tr '|' '\n' | grep -c betty)" -ge 3 ] || fail "Watch through Xen's server: $(line U-BW)"
# A retry: what the proxy moved, for the record.
line "U-B" | grep -q "tries=1 " && line "U-BW" | grep -q "tries=1 " || grep -a '^pbw\?| ' "$c"
echo "Xen's vchan-socket-proxy: as client against our server, and as server against our client: SayHello and Watch ($(line "U-B tries" | grep -o 'tries=[0-9]*'), $(line "U-BW" | grep -o 'tries=[0-9]*') against the proxy's server)"
case $(line U-LIAR) in *"LIAR-CONNECTED LIAR-SERVER-CLOSED"*) ;; *) fail "the liar: $(line U-LIAR)" ;; esac
# At once, on the lie (EPROTO), not at the HELLO's 5 s deadline.
liar_ms=$(line U-LIAR | sed -n 's/.*CLOSED \([0-9]*\).*/\1/p')
[ "$liar_ms" -lt 2500 ] || fail "the server took $liar_ms ms to drop the liar: not on the lie"
grep -aq "hs| vrpc: connection closed: Protocol error" "$c" || fail "the server did not say EPROTO"
case $(line "U-AFTER rc") in *"U-AFTER rc=0 Hello, carol"*) ;; *) fail "after the liar: $(line "U-AFTER rc")" ;; esac
case $(line "U-AGAIN rc") in *"U-AGAIN rc=0 Hello, dave"*) ;; *) fail "a second client at one path: $(line "U-AGAIN rc")" ;; esac
case $(line XEN-SERVER) in *alive*) ;; *) fail "hello-server died" ;; esac
case $(line D-CHAN-PERMS) in *"(n1,r0)"*) ;; *) fail "the channel's xenstore permissions: $(line D-CHAN-PERMS)" ;; esac
case $(line D-CHAN1) in *"Hello, one! (caller domid:0)"*) ;; *) fail "dom0's first call on the appliance's channel: $(line D-CHAN1)" ;; esac
case $(line D-CHAN2) in *"Hello, two! (caller domid:0)"*) ;; *) fail "dom0's second call on the appliance's channel: $(line D-CHAN2)" ;; esac
echo "chan:vapp.rpc in the domU: a vchan for dom0 at its data/vapp/vapp@rpc (n1,r0), called twice, the caller domain 0"
echo "a lying ring: the server shut that vchan in $liar_ms ms (EPROTO); two clients after it at one path were served"
echo "xen_vchan: passed in $(( $(date +%s) - start )) s"
