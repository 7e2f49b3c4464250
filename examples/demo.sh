#!/usr/bin/env bash
# The README's demo: validate, plan, apply and plan again against the bundled emulator, then a
# routing change in waves checked with test calls (passing, then failing and undone).
# No account, no API key, no network. The example's state file is copied, never changed.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
cp examples/sales-support/state.json "$work/state.json"
manifests=examples/sales-support/dids
run() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

for example in sales-support/dids receptionist forwarding sip-trunk maintenance; do
  run mvconf validate "examples/$example"
done

echo; echo "# 1. What would change? (the emulator plays the live MiniVoice account)"
run mvconf plan "$manifests" --emulator "$work/state.json" || true

echo; echo "# 2. The same change as account-setup steps for a person (the default 'manual' executor):"
run mvconf plan "$manifests" --emulator "$work/state.json" --target +15551230012 || true

echo; echo "# 3. Apply through the API; the journal keeps the previous values for rollback."
set +e
run mvconf apply "$manifests" --emulator "$work/state.json" --executor api --auto-approve \
    --journal "$work/journal.jsonl"
code=$?
set -e
echo "(exit $code: 3 means account-setup steps remain, here for the number not yet in the account)"

echo; echo "# 4. A person acquires the missing number in the account setup; plan again:"
python3 - "$work/state.json" <<'PY'
import json, sys
path = sys.argv[1]
state = json.load(open(path))
state["dids"].append({"id": "did_221", "customer_id": "cust_123", "application_id": "app_789",
    "number_e164": "+15551230021", "provider": "didww", "status": "active",
    "route_mode": "webhook", "created_at": "2026-11-24T12:00:00Z",
    "updated_at": "2026-11-24T12:00:00Z"})
json.dump(state, open(path, "w"), indent=1)
PY
run mvconf plan "$manifests" --emulator "$work/state.json" --detailed-exitcode --out "$work/plan.json"

echo; echo "# 5. Test calls: the emulator places one call to each number, following its live"
echo "#    routing; receive-events records the webhooks and verify-events checks them."
mvconf emulator --state "$work/state.json" --port 0 > "$work/emulator.out" &
mvconf receive-events --port 0 --out "$work/events.jsonl" > "$work/receiver.out" &
for _ in $(seq 100); do
  grep -q listening "$work/emulator.out" 2>/dev/null && grep -q listening "$work/receiver.out" \
    2>/dev/null && break
  sleep 0.1
done
python3 - "$(sed 's/listening on //' "$work/emulator.out")" \
  "$(sed 's/listening on //' "$work/receiver.out")/hooks/minivoice" "$work/plan.json" <<'PY'
import json, sys, urllib.request
emulator, hook, plan = sys.argv[1:]
for number in [change["number"] for change in json.load(open(plan))["changes"]]:
    body = json.dumps({"to": number, "webhook_url": hook}).encode()
    request = urllib.request.Request(f"{emulator}/_account/calls", body,
                                     {"Content-Type": "application/json"})
    event = json.load(urllib.request.urlopen(request))["call"]
    print(f"  called {number}: {event['status']} in {event['application_id']} ({event['id']})")
PY
run mvconf verify-events "$manifests" --events "$work/events.jsonl"

echo; echo "# 6. A routing change in waves: one DID, then half, then the rest. After each wave but"
echo "#    the last, --wave-check places a test call to each of the wave's numbers (as a person"
echo "#    would) and --wave-events waits until receive-events has recorded them, as verify-events"
echo "#    judges them."
emulator_url=$(sed 's/listening on //' "$work/emulator.out")
hook="$(sed 's/listening on //' "$work/receiver.out")/hooks/minivoice"
cp -r "$manifests" "$work/waves-dids"
sed -i.bak 's/application: support/application: receptionist/' "$work/waves-dids/support.yaml"
sed -i.bak 's/application: sales/application: support/' "$work/waves-dids/sales.yaml"
rm -f "$work"/waves-dids/*.bak
cat > "$work/test-calls.py" <<'PY'
import json, os, sys, urllib.request
emulator, hook = sys.argv[1:]
for number in open(os.environ["MVCONF_WAVE_NUMBERS"]).read().split():
    body = json.dumps({"to": number, "webhook_url": hook}).encode()
    request = urllib.request.Request(f"{emulator}/_account/calls", body,
                                     {"Content-Type": "application/json"})
    call = json.load(urllib.request.urlopen(request))["call"]
    print(f"    test call to {number} (wave {os.environ['MVCONF_WAVE']}): {call['status']} in "
          f"{call['application_id']}")
PY
export MINIVOICE_API_KEY=test-key
run mvconf apply "$work/waves-dids" --api-url "$emulator_url" --executor api --auto-approve \
    --allow-mass-change --journal "$work/journal.jsonl" --waves 1,50%,100% \
    --wave-check "python3 $work/test-calls.py $emulator_url $hook" \
    --wave-events "$work/events.jsonl" --wave-timeout 30

echo; echo "# 7. Back to the first routing, but this time no test call gets through: the first"
echo "#    wave's check finds no call within --wave-timeout, the apply stops and that wave is"
echo "#    undone through the journal. Exit 1."
set +e
run mvconf apply "$manifests" --api-url "$emulator_url" --executor api --auto-approve \
    --allow-mass-change --journal "$work/journal.jsonl" --waves 1,100% \
    --wave-events "$work/events.jsonl" --wave-timeout 2
code=$?
set -e
echo "(exit $code)"
run mvconf plan "$work/waves-dids" --api-url "$emulator_url"
unset MINIVOICE_API_KEY

echo; echo "Demo done: plan, apply, a clean second plan, checked test calls and waves. Journal:"
wc -l < "$work/journal.jsonl" | xargs echo "  records:"
