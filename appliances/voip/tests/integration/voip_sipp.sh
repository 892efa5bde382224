#!/bin/bash
# voip_sipp.sh - vapp-voipd against SIPp (Debian's sip-tester), a SIP
# implementation independent of the appliance's own, on 127.0.0.1:
#   - registration: an account with a registrar registers with a SIPp
#     registrar (EVENT_REGISTERED, ListAccounts says registered);
#     UnregisterAccount sends the un-REGISTER and keeps the account,
#     RegisterAccount registers it again;
#   - outbound: Dial to a SIPp UAS, established, our Hangup; SIPp's
#     scenario must complete (it saw the BYE);
#   - inbound: a SIPp UAC calls the account; WatchEvents shows the incoming
#     call and its caller, Answer connects it, SIPp's BYE ends it, and
#     SIPp's scenario completes.
set -u
cd "${TOP:-$(dirname "$0")/../../../..}"
. appliances/voip/tests/lib/voip_rig.sh
registrar=$PWD/appliances/voip/tests/lib/registrar.xml
command -v sipp >/dev/null || { echo "sipp not installed (sip-tester)"; exit 77; }
voip_rig voip-sipp
base=$((30000 + ($$ % 300) * 20))
V() { "$cli" -c "unix:$dir/alice.sock" "$@"; }
voip_start alice $base $((base + 2)) 440
V -t 60 events >"$dir/events" 2>&1 &
pids+=($!)
me=sip:alice@127.0.0.1:$base
V add-account "$me" >/dev/null || fail "the account"

# Registration with a SIPp registrar.
sipp -sf "$registrar" -i 127.0.0.1 -p $((base + 4)) -m 1 >"$dir/registrar.sipp" 2>&1 &
reg=$!
pids+=($reg)
sleep 0.5
VAPP_VOIP_PASSWORD=pw V add-account sip:carol@127.0.0.1 "sip:127.0.0.1:$((base + 4))" carol \
	>/dev/null || fail "an account with a registrar"
wait_for "$dir/events" '"kind":"EVENT_REGISTERED","account":"sip:carol@127.0.0.1"' 10 ||
	fail "no EVENT_REGISTERED"
V accounts | grep -q '"uri":"sip:carol@127.0.0.1"[^}]*"registered":true' ||
	fail "carol is not registered: $(V accounts)"
wait "$reg" || fail "the SIPp registrar's scenario did not complete"
echo "registration: accepted by a SIPp registrar, shown as registered"

# Unregister: an un-REGISTER (expires 0) reaches the registrar, the account
# stays and says so; Register: a REGISTER again.
sipp -sf "$registrar" -i 127.0.0.1 -p $((base + 4)) -m 2 -trace_msg \
	-message_file "$dir/registrar2.msg" >"$dir/registrar2.sipp" 2>&1 &
reg=$!
pids+=($reg)
sleep 0.5
V unregister sip:carol@127.0.0.1 | grep -q '"registrationOff":true' || fail "unregister"
wait_for "$dir/events" '"kind":"EVENT_UNREGISTERED","account":"sip:carol@127.0.0.1"' 10 ||
	fail "no EVENT_UNREGISTERED"
V accounts | grep -q '"uri":"sip:carol@127.0.0.1"[^}]*"registrationOff":true' ||
	fail "carol's registration is not off: $(V accounts)"
V accounts | grep -q '"uri":"sip:carol@127.0.0.1"[^}]*"registered":true' && fail "carol still registered"
wait_for "$dir/registrar2.msg" '[Ee]xpires[=:] *0' 10 || fail "no un-REGISTER reached the registrar"
n=$(grep -c EVENT_REGISTERED "$dir/events")
V register sip:carol@127.0.0.1 | grep -q registrationOff && fail "register: still off"
for _ in $(seq 100); do [ "$(grep -c '"kind":"EVENT_REGISTERED"' "$dir/events")" -gt "$n" ] && break; sleep 0.1; done
[ "$(grep -c '"kind":"EVENT_REGISTERED"' "$dir/events")" -gt "$n" ] || fail "no REGISTER after RegisterAccount"
wait "$reg" || fail "the SIPp registrar's second scenario did not complete"
V unregister sip:alice@127.0.0.1:$base 2>&1 | grep -q 'FAILED_PRECONDITION.*no registrar' ||
	fail "unregistering an account without a registrar"
V register sip:nobody@127.0.0.1 2>&1 | grep -q 'NOT_FOUND.*uri:' || fail "registering no account"
echo "unregister: un-REGISTER sent, the account kept; register: registered again"

# Outbound: a SIPp UAS answers; we hang up; it must see the BYE.
sipp -sn uas -i 127.0.0.1 -p $((base + 6)) -m 1 >"$dir/uas.sipp" 2>&1 &
uas=$!
pids+=($uas)
sleep 0.5
out=$(V dial "sip:service@127.0.0.1:$((base + 6))" "$me") || fail "dial: $out"
id=$(echo "$out" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
wait_for "$dir/events" "EVENT_CALL_ESTABLISHED.*\"id\":\"$id\"" 10 || fail "not established"
V hangup "$id" >/dev/null || fail "hangup"
for _ in $(seq 100); do kill -0 "$uas" 2>/dev/null || break; sleep 0.1; done
wait "$uas" || fail "SIPp's UAS scenario did not complete (no BYE?)"
echo "outbound: a SIPp UAS answered, our hangup reached it"

# Inbound: a SIPp UAC calls us; we answer; its BYE ends the call.
sipp -sn uac "127.0.0.1:$base" -s alice -i 127.0.0.1 -p $((base + 8)) -m 1 -d 1000 \
	>"$dir/uac.sipp" 2>&1 &
uac=$!
pids+=($uac)
wait_for "$dir/events" 'EVENT_CALL_INCOMING.*"incoming":true' 10 || fail "no incoming call"
grep EVENT_CALL_INCOMING "$dir/events" | grep -q "\"peer\":\"sip:sipp@127.0.0.1:$((base + 8))\"" ||
	fail "the caller is not SIPp: $(grep INCOMING "$dir/events")"
id=$(grep EVENT_CALL_INCOMING "$dir/events" | tail -n 1 | sed -n 's/.*"call":{"id":"\([^"]*\)".*/\1/p')
V answer "$id" >/dev/null || fail "answer $id"
wait_for "$dir/events" "EVENT_CALL_ENDED.*\"id\":\"$id\"" 15 || fail "SIPp's BYE did not end it"
grep -q "EVENT_CALL_ESTABLISHED.*\"id\":\"$id\"" "$dir/events" || fail "never established"
for _ in $(seq 100); do kill -0 "$uac" 2>/dev/null || break; sleep 0.1; done
wait "$uac" || fail "SIPp's UAC scenario did not complete"
echo "inbound: SIPp called, WatchEvents showed it, Answer connected it, SIPp's BYE ended it"
echo "voip_sipp: passed"
