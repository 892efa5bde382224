#!/bin/bash
# voip_ui_window.sh - the VoIP UI's window program (vapp-voip-ui.exe, under
# wine, in Xvfb) driving the real VoIP appliance booted by vappd, the way a
# person would: keys typed with xdotool, what the window shows read from
# its title and, by OCR (tesseract), from screenshots kept in
# $BUILD/test-logs/voip_ui_window/:
#   - it starts and connects ("ready", "Connected to the appliance");
#   - the SIP address typed and Enter: ringing, then established when the
#     peer (bob, a baresip on the host side of the appliance's NIC)
#     answers; Alt+H hangs up and bob sees the end;
#   - bob calls in while the window is minimised: the window comes back
#     with "incoming call from sip:bob@..."; Alt+A answers; bob hangs up;
#   - QEMU killed in the middle of a call: the window says "reconnecting"
#     and why, the call is gone from its list, and it is "ready" again (no
#     call left) once vappd has booted the appliance again;
#   - a second guest whose policy allows only watching: its window says
#     dialling is not allowed, with the policy's reason.
# The window reaches vappd's gates as a Windows guest reaches a
# virtio-serial port: serial:vapp.voip, CreateFile on \\.\Global\vapp.voip.
# Wine maps that name to $WINEPREFIX/dosdevices/global/vapp.voip: a pty
# that socat joins to the gate's socket, made again after each connection.
# test-timeout: 600
set -u
cd "${TOP:-$(dirname "$0")/../../../..}"
limit=${VOIP_TEST_LIMIT:-540}
. appliances/voip/tests/lib/voip_vm.sh
. tests/lib/wine.sh
app=build/win/bin/vapp-voip-ui.exe
shots=$BUILD/test-logs/voip_ui_window
name=vu$$
tap=vp${name:0:8}n0
for t in Xvfb xdotool import tesseract socat; do
	command -v "$t" >/dev/null || { echo "$t is not installed"; exit 77; }
done
wine_init
case $? in 0) ;; 77) exit 77 ;; *) exit 1 ;; esac
[ -f "$app" ] || { echo "FAIL: build $app first (make win)"; exit 1; }
voip_vm_init
trap 'wine_stop; voip_vm_cleanup' EXIT
rm -rf "$shots"
mkdir -p "$shots"

cat >"$work/policy" <<EOF
vapp.voip.v1.Voip win $name allow
vapp.voip.v1.Voip.WatchEvents watch $name allow
vapp.voip.v1.Voip.ListCalls watch $name allow
vapp.voip.v1.Voip.GetStatus watch $name allow
EOF
export VAPPD_SOCKET=$work/vappd.sock
ALSA_CONFIG_PATH=$work/asound.conf "$vappd" --foreground --socket "$VAPPD_SOCKET" \
	--run-dir "$work/run" --state-dir "$work/state" --trust-image-key --accel tcg \
	--boot-timeout 120 --audiodev alsa --policy "$work/policy" --guest win --guest watch \
	>"$work/vappd.log" 2>&1 &
VAPPD_PID=$!
for _ in $(seq 50); do [ -S "$VAPPD_SOCKET" ] && break; sleep 0.1; done
timeout "$(left)" "$vapp" run --name "$name" "$work/img" >"$work/run.out" 2>&1 &
runpid=$!
voip_tap_in "$tap" 60 || fail "the appliance's tap did not appear"
wait $runpid || fail "vapp run: $(cat "$work/run.out")"
vappd_qemu_pid "$name" >>"$work/qemu.pids"
voip_bob_up
grep -h "vapp-voipd: sound card" "$work"/run/*/console.log
alice=sip:alice@$app_ip
timeout 30 "$cli" -c "unix:$work/run/guests/win.sock" add-account "$alice" >/dev/null ||
	fail "the appliance's account"
bob -t 300 events >"$work/bob.events" 2>&1 &
pids+=($!)

# The gates, as \\.\Global\vapp.voip (and vapp.voip-watch for the second
# guest, in the same prefix): while one connection lasts, the pty is there;
# when it ends, socat removes it and makes it again for the next.
mkdir -p "$WINEPREFIX/dosdevices/global"
serial_port() { # NAME GATE
	local link=$WINEPREFIX/dosdevices/global/$1 child=
	trap 'kill $child 2>/dev/null; exit 0' TERM
	while :; do
		socat "PTY,link=$link,raw,echo=0" "UNIX-CONNECT:$2" 2>/dev/null &
		child=$!
		wait $child
		sleep 0.2
	done
}
serial_port vapp.voip "$work/run/guests/win.sock" &
pids+=($!)
serial_port vapp.voip-watch "$work/run/guests/watch.sock" &
pids+=($!)
display=:$((90 + $$ % 100))
Xvfb "$display" -screen 0 1024x768x24 -nolisten tcp >/dev/null 2>&1 &
pids+=($!)
export DISPLAY=$display
for _ in $(seq 50); do xdotool getmouselocation >/dev/null 2>&1 && break; sleep 0.1; done

title() { xdotool getwindowname "$1" 2>/dev/null; }
# Keys go where the focus is: a click puts it in the window (there is no
# window manager to give it), on a control (X Y in the window) or on its
# empty bottom right corner.
# Moves a window away from the top left, where wine puts its notification
# icon and balloons (they would cover it in a screenshot); a move made
# while wine still places the window is lost, so it is checked.
place() { # WINDOW X Y
	for _ in $(seq 30); do
		xdotool windowmove "$1" "$2" "$3" 2>/dev/null
		sleep 0.2
		xdotool getwindowgeometry "$1" 2>/dev/null | grep -q "Position: $2,$3 " && return 0
	done
	fail "the window could not be moved to $2,$3"
}
click() { xdotool mousemove --window "$1" "${2:-445}" "${3:-420}" click 1; sleep 0.3; }
wait_title() { # WINDOW PATTERN SECONDS
	for _ in $(seq $(($3 * 10))); do
		case $(title "$1") in *$2*) return 0 ;; esac
		sleep 0.1
	done
	return 1
}
shot() { # WINDOW NAME WORDS...: a screenshot, and the words OCR must find in it
	local w=$1 f=$shots/$2.png text= word missing
	shift 2
	# A window repaints after each change: up to 5 shots, 0.5 s apart.
	for _ in 1 2 3 4 5; do
		import -window "$w" "$f" 2>/dev/null || fail "screenshot $f"
		# A white margin: tesseract drops letters that touch the edge.
		convert "$f" -bordercolor white -border 30 -resize 300% -colorspace Gray "$work/ocr.png"
		text=$(tesseract "$work/ocr.png" - 2>/dev/null | tr '\n' ' ')
		missing=
		for word in "$@"; do
			case $text in *"$word"*) ;; *) missing=$word ;; esac
		done
		[ -z "$missing" ] && break
		sleep 0.5
	done
	[ -z "$missing" ] || fail "$f: no \"$missing\" in what OCR read: $text"
	echo "screenshot $f: \"$*\" read"
}
start_app() { # ADDRESS: sets WIN to its window
	local t0=$(date +%s%N)
	"$wine" "$app" --address "$1" >>"$work/app.log" 2>&1 &
	pids+=($!)
	WIN=
	for _ in $(seq 300); do
		WIN=$(xdotool search --name "vapp VoIP" 2>/dev/null | grep -vxF "${OTHER:-none}" | head -n 1)
		[ -n "$WIN" ] && break
		sleep 0.1
	done
	[ -n "$WIN" ] || fail "the window did not appear"
	echo "window up $(( ($(date +%s%N) - t0) / 1000000 )) ms after start"
}

# 1. start, connect
start_app serial:vapp.voip
place "$WIN" 300 250
wait_title "$WIN" "- ready" 30 || fail "not ready: $(title "$WIN")"
shot "$WIN" 01-ready "Connected" "Volume"
rss=$(ps -o rss= -C vapp-voip-ui.ex 2>/dev/null | head -n 1)
echo "memory: ${rss:-?} kB resident (the program under wine)"

# 2. dial by typing, bob answers, Alt+H
click "$WIN" 150 52 # the dial field
xdotool type --delay 15 "sip:bob@$peer_ip"
xdotool key Return
wait_title "$WIN" "ringing: sip:bob@$peer_ip" 20 || fail "not ringing: $(title "$WIN")"
wait_for "$work/bob.events" EVENT_CALL_INCOMING 20 || fail "bob saw no call"
bid=$(grep EVENT_CALL_INCOMING "$work/bob.events" | tail -n 1 | sed -n 's/.*"call":{"id":"\([^"]*\)".*/\1/p')
bob answer "$bid" >/dev/null || fail "bob: answer"
wait_title "$WIN" "established: sip:bob@$peer_ip" 20 || fail "not established: $(title "$WIN")"
sleep 1.5
shot "$WIN" 02-established "established" "bob"
ended=$(grep -c EVENT_CALL_ENDED "$work/bob.events")
click "$WIN"
xdotool key alt+h
wait_title "$WIN" "- ready" 20 || fail "Alt+H did not hang up: $(title "$WIN")"
for _ in $(seq 100); do [ "$(grep -c EVENT_CALL_ENDED "$work/bob.events")" -gt "$ended" ] && break; sleep 0.1; done
[ "$(grep -c EVENT_CALL_ENDED "$work/bob.events")" -gt "$ended" ] || fail "bob did not see the hang-up"
echo "dialled by typing, established when bob answered, Alt+H hung up"

# 3. an incoming call brings the window up; Alt+A answers
xdotool windowminimize --sync "$WIN" 2>/dev/null
bob dial "$alice" >/dev/null || fail "bob: dial"
wait_title "$WIN" "incoming call from sip:bob@$peer_ip" 20 || fail "no incoming call: $(title "$WIN")"
xdotool search --onlyvisible --name "incoming call" >/dev/null || fail "the window did not come up"
# Restored, it is back where wine first put it, under the balloon that
# says the call came (top left, by the icon): away from it again.
place "$WIN" 300 250
shot "$WIN" 03-incoming "incoming" "Answer"
click "$WIN"
xdotool key alt+a
wait_title "$WIN" "established: sip:bob@$peer_ip" 20 || fail "Alt+A did not answer: $(title "$WIN")"
bid=$(grep EVENT_CALL_ESTABLISHED "$work/bob.events" | tail -n 1 | sed -n 's/.*"call":{"id":"\([^"]*\)".*/\1/p')
bob hangup "$bid" >/dev/null || fail "bob: hangup"
wait_title "$WIN" "- ready" 20 || fail "bob's hang-up not seen: $(title "$WIN")"
echo "incoming call: the window came up, Alt+A answered, bob's hang-up seen"

# 4. the appliance killed in the middle of a call: reconnecting, the call
# gone; then ready again, with no call listed
bob dial "$alice" >/dev/null || fail "bob: dial"
wait_title "$WIN" "incoming call from sip:bob@$peer_ip" 20 || fail "no second call: $(title "$WIN")"
place "$WIN" 300 250
click "$WIN"
xdotool key alt+a
wait_title "$WIN" "established: sip:bob@$peer_ip" 20 || fail "the second call: $(title "$WIN")"
pid1=$(vappd_qemu_pid "$name")
kill -9 "$pid1"
wait_title "$WIN" "reconnecting" 30 || fail "the window did not say reconnecting: $(title "$WIN")"
shot "$WIN" 04-reconnecting "went away"
voip_tap_in "$tap" 90 || fail "the restarted appliance's tap did not appear"
wait_title "$WIN" "- ready" 120 || fail "the window did not recover: $(title "$WIN")"
vappd_qemu_pid "$name" >>"$work/qemu.pids"
shot "$WIN" 05-recovered "Connected"
echo "QEMU killed mid-call: the window said reconnecting, then ready again with no call"

# 5. a guest that may only watch: dialling refused, with the reason
OTHER=$WIN
start_app serial:vapp.voip-watch
place "$WIN" 560 60
wait_title "$WIN" "- ready" 30 || fail "the watching guest's window: $(title "$WIN")"
sleep 1
shot "$WIN" 06-watch-only "not allowed"
echo "the watching guest's window says dialling is not allowed"
echo "voip_ui_window: passed in $(( $(date +%s) - start )) s; screenshots in $shots"
