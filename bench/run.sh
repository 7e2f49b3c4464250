#!/usr/bin/env bash
# Benchmarks: they print figures; nothing here asserts a time. Run with `make bench`.
#   1. load + validate 10,000 DIDs            (goal: well under 2 s)
#   2. plan 4,000 DIDs over TCP, 50 ms latency, --parallelism 16 (goal: <= 1.15 x 12.5 s)
#   3. plan 10,000 DIDs, 10% changed, --emulator, vs octoDNS 1.22 YamlProvider -> YamlProvider
#      (goal: at most half octoDNS's time, no higher peak memory)
#   4. verify-events on 100,000 events         (goal: seconds)
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
measure() { /usr/bin/env time -f "%e s elapsed, %M KiB peak RSS" "$@" > /dev/null 2> >(grep -E "elapsed|Error" >&2); }
export MINIVOICE_API_KEY=bench-key

echo "== 1. validate 10,000 DIDs"
mkdir -p "$work/v" && python3 bench/make_data.py "$work/v" 10000 10
measure mvconf validate "$work/v/dids.yaml"

echo "== 2. plan 4,000 DIDs, emulator at --latency-ms 50, --parallelism 16 (bound 12.5 s)"
mkdir -p "$work/n" && python3 bench/make_data.py "$work/n" 4000 10
mvconf emulator --state "$work/n/state.json" --port 0 --latency-ms 50 > "$work/emu.out" &
for _ in $(seq 100); do grep -q listening "$work/emu.out" 2>/dev/null && break; sleep 0.1; done
url=$(sed 's/listening on //' "$work/emu.out")
MINIVOICE_API_URL=$url measure mvconf plan "$work/n/dids.yaml" --parallelism 16 --format json

echo "== 3a. mvconf plan 10,000 DIDs, 10% changed, --emulator, --format json"
measure mvconf plan "$work/v/dids.yaml" --emulator "$work/v/state.json" --format json
echo "== 3b. octodns-sync 1.22, 10,000 A records, 10% changed (throwaway venv)"
if [ "${SKIP_OCTODNS:-}" != 1 ]; then
  python3 -m venv "$work/octo-venv" && "$work/octo-venv/bin/pip" install -q "octodns==1.22.*" >/dev/null
  python3 bench/octodns_data.py "$work/o" 10000 10
  measure "$work/octo-venv/bin/octodns-sync" --config-file "$work/o/config.yaml" 2>&1 | tail -1
fi

echo "== 4. verify-events on 100,000 events"
python3 - "$work/events.jsonl" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(100_000):
        f.write(json.dumps({"event": "call.completed", "created_at": "2026-05-29T12:10:00Z",
            "call": {"id": f"call_{i}", "customer_id": "cust_1", "application_id": "app_123",
                     "status": "completed", "direction": "inbound", "from": "+15551230001",
                     "to": f"+1555{i % 10000:07d}"}, "variables": {}, "data": {}}) + "\n")
PY
measure mvconf verify-events "$work/v/dids.yaml" --events "$work/events.jsonl" --format json || true
