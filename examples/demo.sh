#!/usr/bin/env bash
# The README's demo: validate, plan, apply and plan again against the bundled emulator.
# No account, no API key, no network. The example's state file is copied, never changed.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
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
run mvconf plan "$manifests" --emulator "$work/state.json" --detailed-exitcode
echo; echo "Demo done: plan, apply and a clean second plan. Journal:"
wc -l < "$work/journal.jsonl" | xargs echo "  records:"
