# voip_vm.sh - the VoIP appliance in a VM with its SIP peers on the host
# side of its NIC. Sourced by voip_vappd.sh and bench_voip_image.sh (from
# the top of the tree):
#
#   voip_vm_check          why the rig cannot run here (returns 77), if so
#   voip_vm_init           checks the tools (exit 77 without them), makes
#                          $work (removed on exit), builds the image into
#                          $work/img, writes $work/asound.conf (the host's
#                          test sound card: speaker into $work/speaker.wav,
#                          microphone a 1000 Hz sine), and the namespace $ns
#   voip_tap_in TAP SECONDS
#                          the appliance's tap into $ns, as $peer_ip/24
#   voip_bob_up            "bob", a SIP stack of the peers (vapp-voipd on
#                          the host, in $ns) sending 880 Hz, every call's
#                          decoded audio kept in $work/bob.rec; bob() calls it
#   fail MSG, left, wait_for FILE PATTERN SECONDS, field KEY
#
# Clean-up (the exit trap): $VAPPD_PID, the pids in $work/qemu.pids, $pids,
# whatever still runs in $ns, $ns, $work. Names carry the shell's pid.
. tests/lib/vappd.sh
BUILD=${BUILD:-build}
start=$(date +%s)
vapp=$BUILD/bin/vapp
vappd=$BUILD/bin/vappd
cli=$BUILD/bin/vapp-voip
tone=$BUILD/tests/progs/tone
plugin=$PWD/$BUILD/tests/progs/libasound_module_pcm_vapptest.so
ns=vo$$
peer_ip=10.99.5.1 # the manifest's gateway
app_ip=10.99.5.2  # the manifest's address
work=
VAPPD_PID=
pids=()

voip_vm_cleanup() {
	local p
	vappd_teardown "$VAPPD_PID" "$work/qemu.pids"
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	ip netns del "$ns" 2>/dev/null
	[ -n "$work" ] && rm -rf "$work"
}

fail() {
	echo "FAIL: $*"
	for f in "$work/vappd.log" "$work"/run/*/console.log "$work"/*.log "$work"/*.sipp; do
		[ -f "$f" ] && { echo "--- $(basename "$f") (last 15 lines) ---"; tail -n 15 "$f"; }
	done
	echo "--- the appliance's daemon and sound card said ---"
	grep -hi "vapp-voipd:\|snd\|hda\|codec" "$work"/run/*/console.log 2>/dev/null | tail -n 25
	exit 1
}
left() { local l=$(( limit - ($(date +%s) - start) )); echo $(( l > 0 ? l : 1 )); }
wait_for() { # FILE PATTERN SECONDS
	for _ in $(seq $(($3 * 10))); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" | head -n 1; }

# Prints why the rig cannot run here and returns 77 (1: not built).
voip_vm_check() {
	local t b
	for t in qemu-system-x86_64 ip sipp nft /usr/bin/baresip; do
		command -v "$t" >/dev/null || { echo "$t is not installed"; return 77; }
	done
	[ "$(id -u)" = 0 ] || { echo "needs root (network namespace, taps)"; return 77; }
	for b in "$vapp" "$vappd" "$cli" "$tone" "$BUILD/bin/vapp-voipd" "$plugin"; do
		[ -e "$b" ] || { echo "FAIL: build $b first (make)"; return 1; }
	done
}

voip_vm_init() {
	voip_vm_check || exit $?
	trap voip_vm_cleanup EXIT
	work=$(mktemp -d /tmp/vapp-voip.XXXXXX)
	chmod 711 "$work" # QEMU runs as vapp-qemu, who must reach the run folder
	local manifest=appliances/voip/manifest.yaml
	# A sanitized daemon (SAN=1) makes an initramfs of 32 MB unpacked:
	# at the manifest's 128 MiB the kernel's unpacking fails mid-file
	# ("write error") and the daemon cannot be run. The manifest's copy
	# (with what it names by relative path) gets 384 MiB.
	if [ "${SAN:-0}" = 1 ]; then
		mkdir -p "$work/src/image"
		cp appliances/voip/voip.proto "$work/src/"
		cp appliances/voip/image/alsa.conf "$work/src/image/"
		sed 's/^memory: .*/memory: 384/' "$manifest" >"$work/src/manifest.yaml"
		manifest=$work/src/manifest.yaml
	fi
	timeout 300 "$vapp" build -D "BUILD=$BUILD" "$manifest" -o "$work/img" \
		>"$work/build.log" 2>&1 || fail "vapp build: $(tail -n 3 "$work/build.log")"
	sed -n 's/^ *\(total\) .*MiB.*/  &/p' "$work/build.log"
	install -o vapp-qemu -m 0644 /dev/null "$work/speaker.wav"
	cat >"$work/asound.conf" <<CONF
pcm_type.vapptest { lib "$plugin" }
pcm.!default { type vapptest file "$work/speaker.wav" freq 1000 }
CONF
	ip netns add "$ns" && ip -n "$ns" link set lo up || fail "the network namespace"
}

voip_tap_in() { # TAP SECONDS
	for _ in $(seq $(($2 * 10))); do
		if ip link show "$1" >/dev/null 2>&1; then
			ip link set "$1" netns "$ns" &&
				ip -n "$ns" addr add "$peer_ip/24" dev "$1" &&
				ip -n "$ns" link set "$1" up && return 0
		fi
		sleep 0.1
	done
	return 1
}

bob() { timeout 30 "$cli" -c "unix:$work/bob.sock" "$@"; }
voip_bob_up() {
	mkdir -p "$work/bob.state" "$work/bob.rec"
	ip netns exec "$ns" "$BUILD/bin/vapp-voipd" --listen "unix:$work/bob.sock" \
		--state "$work/bob.state" --run-dir "$work/bob.run" --sip "$peer_ip:5060" \
		--control-port 4450 --audio-source ausine,880 --audio-player "aufile,$work/bob.wav" \
		--record "$work/bob.rec" >"$work/bob.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 50); do bob status 2>/dev/null | grep -q '"sipStackRunning":true' && break; sleep 0.1; done
	bob add-account "sip:bob@$peer_ip" >/dev/null || fail "bob's account"
}
