"""Generate a manifest and an emulator state with N DIDs, `changed` of them differing.

Shape `webhook` (the default): every DID on a webhook application. Shape `forward`: 90% forward
to one of 20 shared destinations and 10% reject; a changed forward DID has another destination
live."""

from __future__ import annotations

import json
import sys


def destination(i: int) -> str:
    return f"+1666555{i % 20:04d}"


def main(out_dir: str, n: int, changed_percent: int, shape: str = "webhook") -> None:
    changed_every = max(1, round(100 / changed_percent)) if changed_percent else 0
    lines = ["version: 1", "applications:", "  main: app_123", "  other: app_456", "dids:"]
    dids = []
    for i in range(n):
        number = f"+1555{i:07d}"
        differs = changed_every and i % changed_every == 0
        mode, wanted, live = "webhook", [], []
        if shape == "forward":
            if i % 10 == 9:
                mode = "reject"
            else:
                mode, wanted = "forward", [destination(i)]
                live = [destination(i + 1)] if differs else wanted
        lines += [f'  - number: "{number}"', "    application: main", f"    route_mode: {mode}",
                  *([f'    destinations: ["{wanted[0]}"]'] if wanted else []),
                  f"    description: bench number {i}"]
        dids.append({"id": f"did_{i}", "customer_id": "cust_1",
                     "application_id": "app_456" if differs and shape != "forward"
                     else "app_123",
                     "number_e164": number, "provider": "didww", "status": "active",
                     "route_mode": mode, "destinations": live,
                     "created_at": "2026-05-29T12:00:00Z", "updated_at": "2026-05-29T12:00:00Z"})
    with open(f"{out_dir}/dids.yaml", "w") as handle:
        handle.write("\n".join(lines) + "\n")
    with open(f"{out_dir}/state.json", "w") as handle:
        json.dump({"api_keys": [{"key": "bench-key", "customer_id": "cust_1",
                                 "application_id": "app_123"}], "dids": dids}, handle)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:5])
