#!/bin/bash
# voip_host.sh - vapp-voipd on the host, before its VM: two daemons, each
# with its own real SIP stack (baresip), call each other over SIP on
# 127.0.0.1, driven only through vapp.voip.v1.Voip with vapp-voip:
#   - alice dials bob: bob's WatchEvents sees the incoming call with its
#     caller, bob answers it by id, both see it established;
#   - audio level events during the call (both directions, at most 10/s);
#   - DTMF from alice reaches bob's SIP stack (an event at bob); hold and
#     resume, mute and unmute; bob hangs up and alice sees the call end;
#     bob rejects her next call and she sees why;
#   - audio both ways: each side hears the other's tone (440 and 880 Hz,
#     found by Goertzel in what each SIP stack decoded);
#   - hostile arguments are refused naming the field, and none reaches the
#     SIP stack (it neither restarts nor dials);
#   - the SIP stack killed: the daemon starts it again, says so as an
#     event, keeps the accounts, and calls work again;
#   - no method ever returns a password.
set -u
cd "${TOP:-$(dirname "$0")/../../../..}"
. appliances/voip/tests/lib/voip_rig.sh
voip_rig voip-host
# Ports of their own: SIP two apart from anything else, RTP 1000 above.
base=$((20000 + ($$ % 400) * 20))
A() { "$cli" -c "unix:$dir/alice.sock" "$@"; }
B() { "$cli" -c "unix:$dir/bob.sock" "$@"; }

# Each sends a tone of its own: 440 Hz from alice, 880 Hz from bob.
voip_start alice $base $((base + 2)) 440
voip_start bob $((base + 200)) $((base + 202)) 880
alice=sip:alice@127.0.0.1:$base
bob=sip:bob@127.0.0.1:$((base + 200))
A add-account "$alice" >/dev/null || fail "alice's account"
B add-account "$bob" >/dev/null || fail "bob's account"
out=$(A add-account "$alice" 2>&1) && fail "the same account twice: $out"
case $out in *ALREADY_EXISTS*) ;; *) fail "the same account twice: $out" ;; esac

# bob watches; alice dials him.
B -t 60 events >"$dir/bob.events" 2>&1 &
pids+=($!)
A -t 60 events >"$dir/alice.events" 2>&1 &
pids+=($!)
sleep 0.5
out=$(A dial "$bob") || fail "dial: $out"
wait_for "$dir/bob.events" EVENT_CALL_INCOMING 10 || fail "bob saw no incoming call"
grep EVENT_CALL_INCOMING "$dir/bob.events" | grep -q "\"peer\":\"$alice\"" ||
	fail "the incoming call does not name alice: $(grep INCOMING "$dir/bob.events")"
id=$(grep EVENT_CALL_INCOMING "$dir/bob.events" | field id)
B answer "$id" >/dev/null || fail "bob could not answer $id"
wait_for "$dir/alice.events" EVENT_CALL_ESTABLISHED 10 || fail "alice's call not established"
wait_for "$dir/bob.events" EVENT_CALL_ESTABLISHED 10 || fail "bob's call not established"
aid=$(grep EVENT_CALL_ESTABLISHED "$dir/alice.events" | field id)
echo "call: alice -> bob established (bob answered $id over RPC)"

# Audio levels: events for this call with both directions, a sine's level
# (about -10 dBov), never more than 10 a second.
wait_for "$dir/alice.events" "EVENT_AUDIO_LEVEL.*\"id\":\"$aid\".*\"txDbov\":-[0-9.]*,\"rxDbov\":-" 10 ||
	fail "no audio level event with both directions"
lv=$(grep EVENT_AUDIO_LEVEL "$dir/alice.events" | tail -n 1 | sed -n 's/.*"txDbov":\(-[0-9.]*\),"rxDbov":\(-[0-9.]*\).*/\1 \2/p')
awk -v l="$lv" 'BEGIN { split(l, v, " "); exit !(v[1] > -20 && v[1] < -3 && v[2] > -20 && v[2] < -3) }' ||
	fail "the levels of two sines: $lv"
n0=$(grep -c EVENT_AUDIO_LEVEL "$dir/alice.events")
sleep 2
n1=$(grep -c EVENT_AUDIO_LEVEL "$dir/alice.events")
[ $((n1 - n0)) -ge 1 ] && [ $((n1 - n0)) -le 21 ] || fail "$((n1 - n0)) level events in 2 s"
echo "audio levels: tx/rx $lv dBov, $((n1 - n0)) events in 2 s"

A dtmf "$aid" "5#" >/dev/null || fail "dtmf"
wait_for "$dir/bob.events" '"detail":"5"' 10 || fail "bob's SIP stack did not get DTMF 5"
A hold "$aid" | grep -q CALL_STATE_HELD || fail "hold"
A resume "$aid" | grep -q CALL_STATE_ESTABLISHED || fail "resume"
A mute "$aid" | grep -q '"muted":true' || fail "mute"
A mute "$aid" | grep -q '"muted":true' || fail "mute twice is still muted"
A unmute "$aid" | grep -q '"muted":true' && fail "unmute"
out=$(B reject "$id" 2>&1) && fail "an established call was rejected: $out"
case $out in *FAILED_PRECONDITION*) ;; *) fail "reject of an established call: $out" ;; esac
# A second call while talking (SIPp, when installed, calls alice): answering
# it puts the first on hold; when it ends, the first is resumed.
if command -v sipp >/dev/null; then
	sipp -sn uac "127.0.0.1:$base" -s alice -i 127.0.0.1 -p $((base + 10)) -m 1 -d 1500 \
		>"$dir/uac.sipp" 2>&1 &
	uac=$!
	pids+=($uac)
	wait_for "$dir/alice.events" '"peer":"sip:sipp@' 10 || fail "alice saw no second call"
	id3=$(grep EVENT_CALL_INCOMING "$dir/alice.events" | tail -n 1 | field id)
	A answer "$id3" >/dev/null || fail "answer the second call"
	wait_for "$dir/alice.events" "EVENT_CALL_HELD.*\"id\":\"$aid\"" 10 ||
		fail "the first call was not held when the second was answered"
	A calls | grep -q "\"id\":\"$aid\"[^}]*CALL_STATE_HELD" || fail "calls: $(A calls)"
	wait "$uac" || fail "SIPp's call did not complete"
	A resume "$aid" | grep -q CALL_STATE_ESTABLISHED || fail "resume after the second call"
	echo "two calls: answering the second held the first; resumed when it ended"
fi
B hangup "$id" >/dev/null || fail "bob's hangup"
wait_for "$dir/alice.events" EVENT_CALL_ENDED 10 || fail "alice did not see the call end"
echo "dtmf reached bob, hold/resume, mute/unmute, bob hung up and alice saw it end"

# bob rejects alice's next call: she sees it end, with the reason.
ended=$(grep -c EVENT_CALL_ENDED "$dir/alice.events")
A dial "$bob" >/dev/null || fail "second dial"
for _ in $(seq 100); do [ "$(grep -c EVENT_CALL_INCOMING "$dir/bob.events")" -ge 2 ] && break; sleep 0.1; done
id2=$(grep EVENT_CALL_INCOMING "$dir/bob.events" | tail -n 1 | field id)
B reject "$id2" >/dev/null || fail "bob could not reject $id2"
for _ in $(seq 100); do [ "$(grep -c EVENT_CALL_ENDED "$dir/alice.events")" -gt "$ended" ] && break; sleep 0.1; done
[ "$(grep -c EVENT_CALL_ENDED "$dir/alice.events")" -gt "$ended" ] || fail "alice did not see the rejection"
echo "reject: $(grep EVENT_CALL_ENDED "$dir/alice.events" | tail -n 1 | field reason)"

# Audio both ways, on a call of its own: what each side received is the
# other's tone (the recordings are the SIP stacks' decoded audio).
rm -f "$dir"/alice.rec/* "$dir"/bob.rec/*
n=$(grep -c EVENT_CALL_INCOMING "$dir/bob.events")
A dial "$bob" >/dev/null || fail "the audio call"
for _ in $(seq 100); do [ "$(grep -c EVENT_CALL_INCOMING "$dir/bob.events")" -gt "$n" ] && break; sleep 0.1; done
id4=$(grep EVENT_CALL_INCOMING "$dir/bob.events" | tail -n 1 | field id)
B answer "$id4" >/dev/null || fail "answer the audio call"
sleep 3
B hangup "$id4" >/dev/null || fail "hang up the audio call"
sleep 0.5
"$tone" "$dir"/alice.rec/*-dec.wav 880 || fail "alice did not hear bob's 880 Hz"
"$tone" "$dir"/bob.rec/*-dec.wav 440 || fail "bob did not hear alice's 440 Hz"
"$tone" "$dir"/bob.rec/*-dec.wav 880 >/dev/null && fail "bob heard his own tone"
echo "audio both ways: alice heard 880 Hz, bob 440 Hz"

# Hostile arguments: refused, naming the field, before the SIP stack.
check_refused() { # WANT OUTPUT-PATTERN -- COMMAND...
	local want=$1 pat=$2 out
	shift 3
	out=$(A "$@" 2>&1) && fail "taken: $*: $out"
	case $out in *"$want"*"$pat"*) ;; *) fail "$*: $out" ;; esac
}
check_refused INVALID_ARGUMENT "to:" -- dial "sip:bob@x;transport=tcp"
check_refused INVALID_ARGUMENT "to:" -- dial "sip:a b@c"
check_refused INVALID_ARGUMENT "to:" -- dial "$(printf 'sip:a\001b@c')"
check_refused INVALID_ARGUMENT "to:" -- dial "$(printf '%0200d' 1)"
check_refused INVALID_ARGUMENT "to:" -- dial "hangup"
check_refused NOT_FOUND "call_id:" -- hangup no-such-call
check_refused NOT_FOUND "call_id:" -- dtmf no-such-call 1
check_refused INVALID_ARGUMENT "digits:" -- dtmf "$aid" "1;quit"
check_refused INVALID_ARGUMENT "uri:" -- add-account "sip:evil@x>;regint=1"
check_refused INVALID_ARGUMENT "output:" -- volume 101 0
check_refused INVALID_ARGUMENT "input:" -- volume - 4294967295
# Here the SIP stack's audio is a sine and a file: no sound card to set.
check_refused FAILED_PRECONDITION "not on a sound card" -- volume 50 50
A devices | grep -q "\"source\":\"ausine,440\",\"player\":\"aufile,$dir/alice.wav\"" ||
	fail "ListAudioDevices: $(A devices)"
out=$(VAPP_VOIP_PASSWORD='pw;auth_pass=x' A add-account sip:c@127.0.0.1 sip:reg@127.0.0.1 c 2>&1) &&
	fail "a password with ';' was taken: $out"
case $out in *INVALID_ARGUMENT*password*) ;; *) fail "password: $out" ;; esac
A status | grep -q '"sipStackRestarts"' && fail "a refused argument restarted the SIP stack"
echo "hostile arguments: 14 refused, naming the field; the SIP stack untouched"

# A password goes in and never comes out.
VAPP_VOIP_PASSWORD=s3cret-pw A add-account sip:carol@127.0.0.1 sip:127.0.0.1:9 carol >"$dir/add.out" ||
	fail "an account with a registrar: $(cat "$dir/add.out")"
A accounts >"$dir/accounts.out"
grep -q carol "$dir/accounts.out" || fail "carol's account not listed"
grep -q s3cret "$dir/add.out" "$dir/accounts.out" && fail "a password was returned"
[ "$(stat -c %a "$dir/alice.run")" = 700 ] || fail "the SIP stack's config folder is $(stat -c %a "$dir/alice.run")"
[ "$(stat -c %a "$dir/alice.state/accounts")" = 600 ] ||
	fail "the accounts file is $(stat -c %a "$dir/alice.state/accounts")"
grep -q s3cret-pw "$dir/alice.state/accounts" || fail "the password was not kept"
echo "accounts: a password is kept (0600, in a 0700 folder for the stack), never returned"

# The SIP stack dies: started again, said, accounts kept, calls work.
bpid=$(pgrep -f "baresip -f $dir/alice.run") || fail "no SIP stack for alice"
kill -9 "$bpid"
wait_for "$dir/alice.events" EVENT_SIP_STACK_RESTARTED 15 || fail "no restart event"
A status | grep -q '"sipStackRestarts":1' || fail "status: $(A status)"
A accounts | grep -q "$alice" || fail "alice's account lost in the restart"
out=$(A dial "$bob") || fail "dial after the restart: $out"
for _ in $(seq 100); do
	[ "$(grep -c EVENT_CALL_INCOMING "$dir/bob.events")" -ge 3 ] && break
	sleep 0.1
done
[ "$(grep -c EVENT_CALL_INCOMING "$dir/bob.events")" -ge 3 ] || fail "no call after the restart"
echo "SIP stack killed: restarted, said so, accounts kept, calls work again"
echo "voip_host: passed"
