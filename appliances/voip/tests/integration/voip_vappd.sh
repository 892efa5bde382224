#!/bin/bash
# voip_vappd.sh - the VoIP appliance built from its manifest, booted by vappd
# (TCG) with its emulated sound card, and called through vappd's broker:
#   - guest "phone" may call anything; guest "watcher" only WatchEvents and
#     ListCalls: its Dial and AddAccount get PERMISSION_DENIED;
#   - the SIP peers are on the host side of the appliance's NIC (a network
#     namespace): a baresip (vapp-voipd on the host, "bob") and SIPp;
#   - outbound: phone dials bob, bob answers; audio both ways through the
#     emulated card: bob's 880 Hz is found in what the appliance's speaker
#     played (QEMU's alsa audiodev into a test sound card, a WAV file), and
#     the 1000 Hz the appliance's microphone heard is found in what bob's
#     SIP stack decoded; the watcher sees the call's audio levels; DTMF
#     from the appliance reaches bob; bob hangs up;
#   - inbound: bob calls the appliance, the watcher sees the incoming call
#     with bob as caller, phone answers it by id, phone hangs up, bob sees
#     the end;
#   - registration with a SIPp registrar, Dial to a SIPp UAS whose scenario
#     must complete;
#   - SetVolume 25 25 and ListAudioDevices: what the speaker played and what
#     bob heard of the microphone are quieter by as much (rms);
#   - QEMU killed: vappd boots the appliance again and the accounts and the
#     levels come back from its state volume.
# Bounded by $VOIP_TEST_LIMIT seconds (default 420); vappd, QEMU, peers and
# the namespace are removed on exit, also on failure.
# test-timeout: 480
set -u
cd "${TOP:-$(dirname "$0")/../../../..}"
limit=${VOIP_TEST_LIMIT:-420}
. appliances/voip/tests/lib/voip_vm.sh
registrar=$PWD/appliances/voip/tests/lib/registrar.xml
name=vo$$
tap=vp${name:0:8}n0 # vappd names an appliance's taps vp<name>n<index>
voip_vm_init
cat >"$work/policy" <<EOF
vapp.voip.v1.Voip phone $name allow
vapp.voip.v1.Voip.WatchEvents watcher $name allow
vapp.voip.v1.Voip.ListCalls watcher $name allow
EOF
"$vapp" policy check "$work/policy" >/dev/null || fail "the test's policy does not check"
export VAPPD_SOCKET=$work/vappd.sock
ALSA_CONFIG_PATH=$work/asound.conf "$vappd" --foreground --socket "$VAPPD_SOCKET" \
	--run-dir "$work/run" --state-dir "$work/state" --trust-image-key --accel tcg \
	--boot-timeout 120 --audiodev alsa --policy "$work/policy" --guest phone \
	--guest watcher >"$work/vappd.log" 2>&1 &
VAPPD_PID=$!
for _ in $(seq 50); do [ -S "$VAPPD_SOCKET" ] && break; sleep 0.1; done
[ -S "$VAPPD_SOCKET" ] || fail "vappd did not make its socket"
phone() { timeout 30 "$cli" -c "unix:$work/run/guests/phone.sock" "$@"; }
watcher() { timeout 70 "$cli" -c "unix:$work/run/guests/watcher.sock" "$@"; }
t0=$(date +%s%N)
timeout "$(left)" "$vapp" run --name "$name" "$work/img" >"$work/run.out" 2>&1 &
runpid=$!
voip_tap_in "$tap" 60 || fail "the appliance's tap did not appear"
wait $runpid || fail "vapp run: $(cat "$work/run.out")"
boot_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
head -n 1 "$work/run.out"
vappd_qemu_pid "$name" >>"$work/qemu.pids"

voip_bob_up
alice=sip:alice@$app_ip
phone add-account "$alice" >/dev/null || fail "phone: AddAccount"
phone status | grep -q '"sipStackRunning":true' || fail "the appliance's SIP stack is not running"
echo "appliance ready in $boot_ms ms; its SIP stack runs; an account added through the broker"

# 1. the policy: the watcher may watch and list, nothing else
denied() { # WHAT, then the vapp-voip arguments
	local what=$1 out
	shift
	out=$(watcher "$@" 2>&1) && fail "the watcher could $what"
	case $out in *PERMISSION_DENIED*) ;; *) fail "watcher $what: not PERMISSION_DENIED: $out" ;; esac
}
denied dial dial "sip:bob@$peer_ip"
denied "add an account" add-account "sip:mallory@$app_ip"
denied "list the accounts" accounts
denied "set the volume" volume 0 0
watcher calls >/dev/null || fail "the watcher may not ListCalls"
phone accounts | grep -q mallory && fail "the watcher's account was added"
echo "policy: the watcher's Dial, AddAccount, ListAccounts, SetVolume denied; ListCalls allowed"

# The sound card: its device, and the levels at full (nothing saved yet).
phone devices | grep -q '"id":"hw:0,0","name":"HDA Intel[^"]*","playback":true,"capture":true' ||
	fail "ListAudioDevices: $(phone devices)"
[ "$(phone volume)" = '{"output":100,"input":100}' ] || fail "the first levels: $(phone volume)"

watcher -t 90 events >"$work/watch.events" 2>&1 &
pids+=($!)
bob -t 90 events >"$work/bob.events" 2>&1 &
pids+=($!)
sleep 1

# 2. outbound, audio both ways, DTMF, bob hangs up
out=$(phone dial "sip:bob@$peer_ip") || fail "dial: $out"
id=$(echo "$out" | field id)
wait_for "$work/bob.events" EVENT_CALL_INCOMING 20 || fail "bob saw no incoming call"
grep EVENT_CALL_INCOMING "$work/bob.events" | grep -q "\"peer\":\"$alice\"" ||
	fail "bob's incoming call is not from $alice: $(grep INCOMING "$work/bob.events")"
bid=$(grep EVENT_CALL_INCOMING "$work/bob.events" | tail -n 1 | sed -n 's/.*"call":{"id":"\([^"]*\)".*/\1/p')
bob answer "$bid" >/dev/null || fail "bob: answer"
wait_for "$work/watch.events" "EVENT_CALL_ESTABLISHED.*\"id\":\"$id\"" 20 ||
	fail "the appliance's call was not established"
wait_for "$work/watch.events" "EVENT_AUDIO_LEVEL.*\"id\":\"$id\".*\"txDbov\":-[0-9.]*,\"rxDbov\":-" 10 ||
	fail "the watcher saw no audio levels of the call"
phone dtmf "$id" "5#" >/dev/null || fail "dtmf"
wait_for "$work/bob.events" '"detail":"5"' 10 || fail "bob's SIP stack did not get DTMF 5"
sleep 6
cp "$work/speaker.wav" "$work/speaker-100.wav"
bob hangup "$bid" >/dev/null || fail "bob: hangup"
wait_for "$work/watch.events" "EVENT_CALL_ENDED.*\"id\":\"$id\"" 15 || fail "the appliance did not see bob hang up"
echo "outbound: established, DTMF 5 reached bob, bob's hangup seen by the appliance"
"$tone" "$work/speaker.wav" 880 || fail "bob's 880 Hz is not in the appliance's speaker"
"$tone" "$work/speaker.wav" 1000 && fail "the appliance's speaker played its own microphone"
dec=$(ls "$work"/bob.rec/*-dec.wav | tail -n 1)
"$tone" "$dec" 1000 || fail "the appliance's microphone (1000 Hz) did not reach bob"
echo "audio both ways through the emulated sound card"
rms() { "$tone" "$@" | sed -n 's/.*rms \([0-9]*\)$/\1/p'; }
out100=$(rms "$work/speaker-100.wav" 880 --last 2)
in100=$(rms "$dec" 1000)

# 3. inbound at a quarter of the levels: the watcher sees it, phone answers,
# phone hangs up; the speaker and the microphone are quieter by as much
[ "$(phone volume 25 25)" = '{"output":25,"input":25}' ] || fail "SetVolume 25 25"
n=$(grep -c EVENT_CALL_INCOMING "$work/watch.events")
bob dial "$alice" >/dev/null || fail "bob: dial"
for _ in $(seq 200); do [ "$(grep -c EVENT_CALL_INCOMING "$work/watch.events")" -gt "$n" ] && break; sleep 0.1; done
line=$(grep EVENT_CALL_INCOMING "$work/watch.events" | tail -n 1)
[ "$(grep -c EVENT_CALL_INCOMING "$work/watch.events")" -gt "$n" ] || fail "the watcher saw no incoming call"
case $line in *"\"peer\":\"sip:bob@$peer_ip\""*) ;; *) fail "the caller is not bob: $line" ;; esac
id=$(echo "$line" | sed -n 's/.*"call":{"id":"\([^"]*\)".*/\1/p')
phone answer "$id" >/dev/null || fail "phone: answer"
wait_for "$work/watch.events" "EVENT_CALL_ESTABLISHED.*\"id\":\"$id\"" 20 || fail "the inbound call was not established"
sleep 5
cp "$work/speaker.wav" "$work/speaker-25.wav"
phone hangup "$id" >/dev/null || fail "phone: hangup"
ended=$(grep -c EVENT_CALL_ENDED "$work/bob.events")
for _ in $(seq 150); do [ "$(grep -c EVENT_CALL_ENDED "$work/bob.events")" -ge 2 ] && break; sleep 0.1; done
[ "$(grep -c EVENT_CALL_ENDED "$work/bob.events")" -ge 2 ] || fail "bob did not see the appliance hang up ($ended ends)"
echo "inbound: the watcher saw bob's call, phone answered and hung up, bob saw the end"
"$tone" "$work/speaker-25.wav" 880 --last 2 >/dev/null || fail "no 880 Hz at level 25"
out25=$(rms "$work/speaker-25.wav" 880 --last 2)
dec=$(ls "$work"/bob.rec/*-dec.wav | tail -n 1)
"$tone" "$dec" 1000 >/dev/null || fail "no 1000 Hz at bob at level 25"
in25=$(rms "$dec" 1000)
awk -v a="$out25" -v b="$out100" -v c="$in25" -v d="$in100" \
	'BEGIN { exit !(b > 0 && d > 0 && a / b > 0.1 && a / b < 0.5 && c / d > 0.1 && c / d < 0.5) }' ||
	fail "levels at 25 against 100: speaker rms $out25 / $out100, microphone $in25 / $in100"
echo "SetVolume 25: the speaker's rms $out25 against $out100, the microphone's $in25 against $in100"

# 4. SIPp: a registrar, then a UAS whose scenario must complete
ip netns exec "$ns" sipp -sf "$registrar" -i "$peer_ip" -p 5070 -m 1 >"$work/registrar.sipp" 2>&1 &
reg=$!
pids+=($reg)
sleep 0.5
VAPP_VOIP_PASSWORD=pw phone add-account "sip:carol@$peer_ip" "sip:$peer_ip:5070" carol >/dev/null ||
	fail "an account with a registrar"
wait_for "$work/watch.events" "\"kind\":\"EVENT_REGISTERED\",\"account\":\"sip:carol@$peer_ip\"" 20 ||
	fail "no EVENT_REGISTERED"
wait "$reg" || fail "the SIPp registrar's scenario did not complete"
ip netns exec "$ns" sipp -sn uas -i "$peer_ip" -p 5072 -m 1 >"$work/uas.sipp" 2>&1 &
uas=$!
pids+=($uas)
sleep 0.5
out=$(phone dial "sip:service@$peer_ip:5072" "$alice") || fail "dial SIPp: $out"
id=$(echo "$out" | field id)
wait_for "$work/watch.events" "EVENT_CALL_ESTABLISHED.*\"id\":\"$id\"" 20 || fail "SIPp's call not established"
phone hangup "$id" >/dev/null || fail "hangup SIPp's call"
for _ in $(seq 100); do kill -0 "$uas" 2>/dev/null || break; sleep 0.1; done
wait "$uas" || fail "SIPp's UAS scenario did not complete (no BYE?)"
echo "SIPp: registered with its registrar; its UAS answered and got our BYE"

# 5. QEMU killed: vappd boots it again, the accounts are in the state volume
pid1=$(vappd_qemu_pid "$name")
[ -n "$pid1" ] || fail "no QEMU pid in vapp ps"
kill -9 "$pid1"
voip_tap_in "$tap" 90 || fail "the restarted appliance's tap did not appear"
p=$(vappd_wait_restarted "$name" "$pid1" 120) || fail "vappd did not restart the appliance: $("$vapp" ps)"
echo "$p" >>"$work/qemu.pids"
out=$(phone accounts) || fail "accounts after the restart"
case $out in *"\"uri\":\"$alice\""*"sip:carol@$peer_ip"*) ;;
*) fail "the accounts after the restart: $out" ;; esac
case $out in *pw*) fail "a password came back: $out" ;; esac
[ "$(phone volume)" = '{"output":25,"input":25}' ] || fail "the levels after the restart: $(phone volume)"
echo "QEMU killed: vappd booted it again; the accounts and the levels came back from the state volume"
grep -aq 'Sanitizer\|runtime error' "$work/run/$name/console.log" && fail "a sanitizer report on the console"
echo "voip_vappd: passed in $(( $(date +%s) - start )) s"
