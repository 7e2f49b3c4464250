"""A git repository of N managed DIDs in 10 files, committed, then edited: 3 entries change
route mode and one alias changes its id (used by one DID), so 4 DIDs differ from HEAD. Also the
emulator state that matches HEAD. For `bench/run.py changed`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

FILES = 10
EDITED = (10, 20_010, 70_020)  # entries whose route mode changes
ALIASED = 50_000  # the one DID of alias `other`, whose id changes


def main(out_dir: str, n: int) -> None:
    out = Path(out_dir)
    repo = out / "repo"
    (repo / "dids").mkdir(parents=True)
    (repo / "dids" / "apps.yaml").write_text(
        "version: 1\napplications:\n  main: app_123\n  other: app_456\ndids: []\n")
    per_file = n // FILES
    dids = []
    for part in range(FILES):
        lines = ["version: 1", "dids:"]
        for i in range(part * per_file, (part + 1) * per_file):
            number = f"+1555{i:07d}"
            app = "other" if i == ALIASED else "main"
            lines += [f'  - number: "{number}"', f"    application: {app}",
                      "    route_mode: webhook", f"    description: bench number {i}"]
            dids.append({"id": f"did_{i}", "customer_id": "cust_1",
                         "application_id": "app_456" if i == ALIASED else "app_123",
                         "number_e164": number, "provider": "didww", "status": "active",
                         "route_mode": "webhook", "destinations": [],
                         "created_at": "2026-05-29T12:00:00Z",
                         "updated_at": "2026-05-29T12:00:00Z"})
        (repo / "dids" / f"part-{part:02d}.yaml").write_text("\n".join(lines) + "\n")
    (out / "state.json").write_text(json.dumps(
        {"api_keys": [{"key": "bench-key", "customer_id": "cust_1",
                       "application_id": "app_123"}], "dids": dids}))
    git = ["git", "-C", str(repo), "-c", "user.email=bench@example.invalid", "-c",
           "user.name=bench"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    for i in EDITED:
        path = repo / "dids" / f"part-{i // per_file:02d}.yaml"
        text = path.read_text()
        entry = f'  - number: "+1555{i:07d}"\n    application: main\n    route_mode: webhook\n'
        path.write_text(text.replace(entry, entry.replace("webhook", "reject")))
    apps = repo / "dids" / "apps.yaml"
    apps.write_text(apps.read_text().replace("other: app_456", "other: app_789"))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
