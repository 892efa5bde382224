#!/bin/bash
# bench_usb.sh - the USB proxy's figures, one JSON object a line on the
# --json FILE (TCG: every figure is a TCG figure):
#
#   usb_image_bytes         kernel + initramfs of the production image;
#                           baseline: the 16 MiB budget
#   usb_attach_ms           in a guest VM, `vapp-usb attach` started to the
#                           stick's disk appearing (/dev/sda), through
#                           vappd's broker
#   usb_storage_read_MBps   dd of the whole stick (about 38 MiB) in the guest
#                           through the proxy; baseline: the same dd inside
#                           the appliance itself (a bench image with
#                           usb-storage whose daemon is that dd)
#   usb_cpu_ms_per_MB       CPU time of both QEMUs (appliance and guest)
#                           per MB read through the proxy; baseline: the
#                           appliance's QEMU per MB read inside it
#
#   bench_usb.sh [--json FILE]
set -u
cd "${TOP:-$(dirname "$0")/../../../..}"
json=
[ "${1:-}" = --json ] && json=${2:-}
limit=${USB_BENCH_LIMIT:-600}
. tests/lib/bench_emit.sh
. tests/lib/image_boot.sh
. appliances/usb-proxy/tests/lib/usb_rig.sh
name=usbbench$$
MB=32
usb_rig_init
usb_stick $MB
MB=$(( $(stat -c %s "$work/stick.img") / 1048576 )) # dd reads the whole disk
hz=$(getconf CLK_TCK)
cpu_ms() { # PID...: their CPU time (user + system), ms
	local p t=0
	for p in "$@"; do
		t=$(( t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0) ))
	done
	echo $(( t * 1000 / hz ))
}
wait_console() { # FILE MARKER SECONDS
	for _ in $(seq $(($3 * 20))); do grep -aq "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
	return 1
}

# The production image's size.
timeout "$(left)" "$vapp" build -D "BUILD=$BUILD" appliances/usb-proxy/manifest.yaml -o "$work/prod" \
	>"$work/prod.log" 2>&1 || fail "vapp build (production)"
bench_emit usb_image_bytes $(( $(stat -c %s "$work/prod/kernel") + $(stat -c %s "$work/prod/initramfs") )) \
	bytes $((16 * 1024 * 1024))

# The baseline: the stick read inside the appliance (usb-storage there),
# the image booted from its qemu.args.
usb_image "alice allow *"
mkdir -p "$work/local/src"
cp "$work/src/usb.proto" "$work/src/rules.default" "$work/local/src/"
cat >"$work/local/src/bench-dd" <<'EOF'
#!/bin/sh
# The baseline's "daemon": the stick read inside the appliance.
while [ ! -b /dev/sda ]; do sleep 0.1; done
a=$(cut -d' ' -f1 /proc/uptime)
echo BENCH-DD-START >&2
dd if=/dev/sda of=/dev/null bs=1M 2>/dev/null
b=$(cut -d' ' -f1 /proc/uptime)
echo "BENCH-LOCAL $a $b" >&2
sleep 600
EOF
awk '
	/^    - usbhid$/ { print; print "    - usb_storage"; print "    - sd_mod"; next }
	/^files:$/ { print; print "  - source: bench-dd"; print "    destination: /usr/bin/bench-dd"; next }
	/^  command:$/ { print; print "    - /bin/sh"; print "    - /usr/bin/bench-dd"; skip = 1; next }
	skip && /^    - / { next }
	/^  settings:/ { next } # booted without vappd: nobody to send them
	{ skip = 0; print }
' "$work/src/manifest.yaml" >"$work/local/src/manifest.yaml"
timeout "$(left)" "$vapp" build -D "BUILD=$BUILD" "$work/local/src/manifest.yaml" -o "$work/local/img" \
	>"$work/local/build.log" 2>&1 || fail "vapp build (the baseline): $(tail -n 3 "$work/local/build.log")"
mkdir -p "$work/local/run"
image_args "$work/local/img" "$work/local/run" 128
setpriv --pdeathsig KILL -- "${IMAGE_ARGS[@]}" </dev/null >"$work/local/qemu.log" 2>&1 &
lq=$!
disown "$lq" # killed below: no word from the shell about it
echo "$lq" >>"$work/qemu.pids"
lc=$work/local/run/console.log
wait_console "$lc" BENCH-DD-START 120 || fail "the baseline did not start its dd: $(tail -n 5 "$lc")"
c0=$(cpu_ms "$lq")
wait_console "$lc" BENCH-LOCAL 300 || fail "the baseline's dd did not end"
c1=$(cpu_ms "$lq")
kill -9 "$lq"
read -r _ a b < <(grep -a BENCH-LOCAL "$lc" | tail -n 1)
local_ms=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%d", (b - a) * 1000 }')
local_cpu=$(( c1 - c0 ))

# Through the proxy: alice's guest VM.
usb_vappd_up "$name" alice
stick=$(dev_line "QEMU USB HARDDRIVE" | sed -n 's/.*"busid":"\([^"]*\)".*/\1/p')
[ -n "$stick" ] || fail "no stick: $(as_alice list 2>&1)"
cat >"$work/alice.rc" <<EOF
up() { cut -d' ' -f1 /proc/uptime; }
a=\$(up)
/bin/vapp-usb -c serial:/dev/virtio-ports/vapp.usb attach $stick >/tmp/attach.out 2>&1 &
while [ ! -b /dev/sda ]; do sleep 0.02; done
b=\$(up)
echo BENCH-DD-START
dd if=/dev/sda of=/dev/null bs=1M 2>/dev/null
c=\$(up)
echo "BENCH-PROXY \$a \$b \$c"
kill %1; wait
EOF
read -ra mods <<<"$(usb_guest_mods | tr '\n' ' ')"
guest_initramfs "$work/alice.gz" "$work/alice.rc" "${mods[@]}" -b "$usb" || fail "the guest's initramfs"
# shellcheck disable=SC2046
guest_boot "$work/alice" "$work/alice.gz" $(usb_gate alice)
echo "$GUEST_PID" >>"$work/qemu.pids"
gc=$work/alice/console.log
aq=$(vappd_qemu_pid "$name")
wait_console "$gc" BENCH-DD-START 200 || fail "the guest did not get the stick: $(tail -n 5 "$gc")"
c0=$(cpu_ms "$aq" "$GUEST_PID")
wait_console "$gc" BENCH-PROXY 400 || fail "the guest's dd did not end"
c1=$(cpu_ms "$aq" "$GUEST_PID")
read -r _ a b c < <(grep -a BENCH-PROXY "$gc" | tail -n 1)
attach_ms=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%d", (b - a) * 1000 }')
proxy_ms=$(awk -v b="$b" -v c="$c" 'BEGIN { printf "%d", (c - b) * 1000 }')
proxy_cpu=$(( c1 - c0 ))

bench_emit usb_attach_ms "$attach_ms" ms
bench_emit usb_storage_read_MBps "$(awk -v m=$MB -v t="$proxy_ms" 'BEGIN { printf "%.2f", m / (t / 1000) }')" MBps \
	"$(awk -v m=$MB -v t="$local_ms" 'BEGIN { printf "%.2f", m / (t / 1000) }')"
bench_emit usb_cpu_ms_per_MB "$(( proxy_cpu / MB ))" ms "$(( local_cpu / MB ))"
