#!/bin/sh
# 02 sms, an unwilling SMSC: MT deliveries accepted (204) by the gateway while the SMSC
# simulator throttles (ESME_RTHROTTLED), is full (ESME_RMSGQFUL), drops the bind, and is away
# while the gateway is killed (-9) and restarted; at the end every MT was accepted by the
# SMSC exactly once (no loss, no duplicate), including the parts of concatenated ones.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
. "$top_srcdir/tests/lib/sms.sh"
sms_init
make_gw_config "$T_DIR" "$(SMS_YAML '  throttle_backoff: 200ms')"
start_gw gw.log
OKSUB='r.get("command")=="submit_sm" and r.get("status")==0'

# accepted TEXT...: how many times the SMSC accepted a part whose UDH-less text is TEXT
check_once() { # N: the accepted submit_sm texts are mt-0..mt-(N-1) + long parts, each once
	python3 - "$1" <<'PY' || fail "SMSC did not get every MT exactly once"
import json, sys, collections
n = int(sys.argv[1])
subs = [r for r in map(json.loads, open("smsc.jsonl")) if r.get("command") == "submit_sm" and r.get("status") == 0]
texts = collections.Counter()
for s in subs:
    sm = bytes.fromhex(s["short_message_hex"])
    key = sm.hex() if s["esm_class"] & 0x40 else sm.decode("latin-1")
    texts[key] += 1
dups = [k for k, v in texts.items() if v > 1]
assert not dups, ("sent twice", dups[:3])
want = {"mt-%d" % i for i in range(n)}
have = {k for k in texts if k.startswith("mt-")}
assert want == have, ("missing", sorted(want - have)[:5], "extra", sorted(have - want)[:5])
long_parts = [k for k in texts if not k.startswith("mt-")]
assert len(long_parts) == 6, ("long parts", len(long_parts))
print("%d single MTs once each, %d parts of 2 long MTs once each, %d refused answers" % (
    len(have), len(long_parts),
    sum(1 for r in map(json.loads, open("smsc.jsonl")) if r.get("command") == "submit_sm" and r.get("status") != 0)))
PY
}
LONG=$(python3 -c 'print("0123456789" * 40)')

# 1. throttled: the first 6 submits get 0x58, then 3 get 0x14
is "$(ctl '{"cmd":"mode","submit":"throttle","count":6}')" 'd["ok"]' || fail "mode"
for i in 0 1 2 3 4; do l3g "mt-$i" "mt-$i"; done
l3g long-1 "$LONG"
wait_count smsc.jsonl 6 'r.get("command")=="submit_sm" and r.get("status")==0x58' 20 || fail "never throttled"
wait_count smsc.jsonl 8 "$OKSUB" 30 || fail "throttled MTs never went through"
is "$(ctl '{"cmd":"mode","submit":"qfull","count":3}')" 'd["ok"]' || fail "mode"
for i in 5 6 7 8 9; do l3g "mt-$i" "mt-$i"; done
wait_count smsc.jsonl 3 'r.get("command")=="submit_sm" and r.get("status")==0x14' 20 || fail "never queue-full"
wait_count smsc.jsonl 13 "$OKSUB" 30 || fail "throttled MTs never went through"
grep -q 'smsc1 throttles' gw.log || fail "the gateway did not log the throttling"
ok "ESME_RTHROTTLED x6 and ESME_RMSGQFUL x3: the same MTs are sent again later"

# 2. the SMSC drops the bind; MTs pushed meanwhile go once it is back
is "$(ctl '{"cmd":"drop"}')" 'd["ok"]' || fail "drop"
for i in 10 11 12 13 14; do l3g "mt-$i" "mt-$i"; done
wait_for_line gw.log 'smsc1 unbound' 10 || fail "the drop was not noticed"
wait_count smsc.jsonl 18 "$OKSUB" 30 || fail "MTs after the drop never went through"
ok "the SMSC drops the bind: the gateway rebinds and sends what waited"

# 3. the SMSC refuses everything while the gateway is killed and restarted
is "$(ctl '{"cmd":"mode","submit":"throttle"}')" 'd["ok"]' || fail "mode"
for i in 15 16 17 18 19; do l3g "mt-$i" "mt-$i"; done
l3g long-2 "$(python3 -c 'print("abcdefghij" * 40)')"
wait_count smsc.jsonl 10 'r.get("command")=="submit_sm" and r.get("status")==0x58' 20 || fail "not throttled"
kill -9 $gw
wait $gw 2>/dev/null
is "$(ctl '{"cmd":"mode","submit":"ok"}')" 'd["ok"]' || fail "mode"
start_gw gw2.log
wait_count smsc.jsonl 26 "$OKSUB" 40 || fail "MTs accepted before the kill never reached the SMSC"
sleep 1
check_once 20
ok "killed (-9) while the SMSC refused: after the restart every MT reaches the SMSC once"

stop_gw
echo "1..$n"
