"""Benchmarks for `make bench`. They print figures and how each compares with its goal; nothing
here asserts a time. Each command runs RUNS times (default 3, env BENCH_RUNS) and the median
wall time is reported with the highest peak RSS of those runs, read per process with wait4.

  1. validate 10,000 DIDs                                   goal: <= 0.5 s
  2. plan 4,000 DIDs over TCP, --latency-ms 50, --parallelism 16
                                                            goal: <= 1.15 x 12.5 s
  3. plan 10,000 DIDs, 10% changed, --emulator, --format json, against octoDNS 1.22
     (octodns-sync, YamlProvider -> YamlProvider, 10,000 A records, 10% changed)
                                                            goal: <= half its time, <= its memory
  4. apply 1,000 changes to a 10,000-DID account, --emulator, --executor api
  5. verify-events on 100,000 events                         goal: seconds
  6. plan 1,000 DIDs against --rate-limit 40 at --parallelism 1, 8 and 48
                                                            goal: each <= 1.15 x 25 s (1.10x)
  7. the same at --parallelism 16 under 25% 503s plus --rate-limit 40, ten runs in a row
                                                            goal: no failure
  8. diff --base HEAD of 10,000 DIDs with 10% changed in a git repository  goal: under 2 s
  9. validate 10,000 DIDs written as 10 ranges, against 10,000 entries   goal: faster

`python bench/run.py network plan` runs only those sections (network, validate, plan, apply,
events, ratelimit, ratefaults, diff, ranges). SKIP_OCTODNS=1 skips installing octoDNS into a
throwaway venv (it needs the package index).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import make_data  # noqa: E402
import octodns_data  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
ENV = {**os.environ, "MINIVOICE_API_KEY": "bench-key"}


def once(argv: list[str], env: dict, codes: tuple[int, ...]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one run; its output is discarded."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in codes:
            err.seek(0)
            raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n"
                             + err.read().decode(errors="replace"))
    return elapsed, usage.ru_maxrss / 1024


def measure(label: str, argv: list[str], env: dict | None = None,
            codes: tuple[int, ...] = (0,), before=None) -> tuple[float, float]:
    runs = []
    for _ in range(RUNS):
        if before:
            before()
        runs.append(once(argv, env or ENV, codes))
    wall = statistics.median(r[0] for r in runs)
    rss = max(r[1] for r in runs)
    spread = ", ".join(f"{r[0]:.2f}" for r in runs)
    print(f"   {label}: {wall:.2f} s median ({spread}), {rss:.0f} MB peak RSS", flush=True)
    return wall, rss


def verdict(ok: bool) -> str:
    return "meets the goal" if ok else "MISSES the goal"


def start_emulator(state: Path, latency_ms: int, *extra: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(["mvconf", "emulator", "--state", str(state), "--port", "0",
                             "--latency-ms", str(latency_ms), *extra], stdout=subprocess.PIPE,
                            text=True, env=ENV)
    line = proc.stdout.readline() if proc.stdout else ""
    if not line.startswith("listening on "):
        proc.kill()
        raise SystemExit("the emulator did not start")
    return proc, line.split()[-1]


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="mvconf-bench-"))
    wanted = sys.argv[1:] or list(SECTIONS)
    unknown = [name for name in wanted if name not in SECTIONS]
    if unknown:
        raise SystemExit(f"unknown section(s) {', '.join(unknown)}; choose from "
                         f"{', '.join(SECTIONS)}")
    try:
        big, net, rated = work / "big", work / "net", work / "rated"
        for where, n in ((big, 10_000), (net, 4_000), (rated, RATED_DIDS)):
            where.mkdir()
            make_data.main(str(where), n, 10)
        for name in wanted:
            SECTIONS[name](work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def network(work: Path) -> None:
    net = work / "net"
    print(f"== plan 4,000 DIDs, emulator at --latency-ms 50, --parallelism 16 ({RUNS} runs)")
    emulator, url = start_emulator(net / "state.json", 50)
    try:
        wall, _ = measure("mvconf plan", ["mvconf", "plan", str(net / "dids.yaml"),
                                          "--parallelism", "16", "--format", "json"],
                          {**ENV, "MINIVOICE_API_URL": url})
    finally:
        emulator.terminate()
        emulator.wait()
    bound = 4000 * 0.050 / 16
    print(f"   bound N x latency / parallelism = {bound:.1f} s; {wall / bound:.2f}x the bound "
          f"(goal <= 1.15x): {verdict(wall <= 1.15 * bound)}")


def validate(work: Path) -> None:
    big = work / "big"
    print(f"== validate 10,000 DIDs ({RUNS} runs)")
    wall, _ = measure("mvconf validate", ["mvconf", "validate", str(big / "dids.yaml")])
    print(f"   goal <= 0.5 s: {verdict(wall <= 0.5)}")


def plan_cpu(work: Path) -> None:
    big = work / "big"
    print(f"== plan 10,000 DIDs, 10% changed, --emulator, --format json ({RUNS} runs)")
    state = big / "state.json"
    pristine = state.read_bytes()
    ours = measure("mvconf plan", ["mvconf", "plan", str(big / "dids.yaml"), "--emulator",
                                   str(state), "--format", "json"])
    assert state.read_bytes() == pristine, "plan must not write the state file"
    if os.environ.get("SKIP_OCTODNS") == "1":
        print("   octoDNS comparison skipped (SKIP_OCTODNS=1)")
    else:
        theirs = octodns(work)
        print(f"   time {ours[0] / theirs[0]:.2f}x octoDNS (goal <= 0.50x), peak memory "
              f"{ours[1] / theirs[1]:.2f}x octoDNS (goal <= 1.00x): "
              f"{verdict(ours[0] <= theirs[0] / 2 and ours[1] <= theirs[1])}")


def apply(work: Path) -> None:
    big = work / "big"
    pristine = (big / "state.json").read_bytes()
    print(f"== apply 1,000 changes to 10,000 DIDs, --emulator, --executor api ({RUNS} runs)")
    target = big / "apply-state.json"
    journal = big / "journal.jsonl"

    def fresh() -> None:
        target.write_bytes(pristine)
        journal.unlink(missing_ok=True)
    measure("mvconf apply", ["mvconf", "apply", str(big / "dids.yaml"), "--emulator", str(target),
                             "--executor", "api", "--auto-approve", "--journal", str(journal)],
            before=fresh)


def events(work: Path) -> None:
    big = work / "big"
    print(f"== verify-events on 100,000 events ({RUNS} runs)")
    recorded = work / "events.jsonl"
    with recorded.open("w") as handle:
        for i in range(100_000):
            handle.write(json.dumps({
                "event": "call.completed", "created_at": "2026-05-29T12:10:00Z",
                "call": {"id": f"call_{i}", "customer_id": "cust_1", "application_id": "app_123",
                         "status": "completed", "direction": "inbound", "from": "+15551230001",
                         "to": f"+1555{i % 10000:07d}"}, "variables": {}, "data": {}}) + "\n")
    # Exit 1 is expected: most of the 10,000 DIDs receive no call in these events.
    measure("mvconf verify-events", ["mvconf", "verify-events", str(big / "dids.yaml"),
                                     "--events", str(recorded), "--format", "json"], codes=(0, 1))


def octodns(work: Path) -> tuple[float, float]:
    venv = work / "octo-venv"
    print("   installing octoDNS 1.22 into a throwaway venv ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin/pip"), "install", "--quiet", "octodns==1.22.*"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    octodns_data.main(str(work / "octo"), 10_000, 10)
    return measure("octodns-sync 1.22", [str(venv / "bin/octodns-sync"), "--config-file",
                                         str(work / "octo/config.yaml")])


RATED_DIDS, RATE = 1_000, 40


def exact_plan(argv: list[str], env: dict, updates: int) -> float:
    """Wall seconds of one JSON plan, checked to count exactly `updates` updates."""
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    summary = json.loads(done.stdout)["summary"]
    if summary["update"] != updates:
        raise SystemExit(f"inexact plan: {summary}")
    return elapsed


def rate_limited(work: Path) -> None:
    rated = work / "rated"
    bound = RATED_DIDS / RATE
    print(f"== plan {RATED_DIDS:,} DIDs against --rate-limit {RATE} (bound {bound:.0f} s)")
    for parallelism in ("1", "8", "48"):
        emulator, url = start_emulator(rated / "state.json", 0, "--rate-limit", str(RATE))
        try:
            wall = exact_plan(["mvconf", "plan", str(rated / "dids.yaml"), "--format", "json",
                               "--parallelism", parallelism], {**ENV, "MINIVOICE_API_URL": url},
                              RATED_DIDS // 10)
        finally:
            emulator.terminate()
            emulator.wait()
        print(f"   --parallelism {parallelism}: {wall:.2f} s, {wall / bound:.3f}x the bound "
              f"(goal <= 1.15x, then 1.10x): {verdict(wall <= 1.10 * bound)}", flush=True)


def rate_faults(work: Path) -> None:
    rated = work / "rated"
    print(f"== plan {RATED_DIDS:,} DIDs, --parallelism 16, 25% 503s and --rate-limit {RATE}, "
          "ten runs in a row")
    walls = []
    for run in range(10):
        emulator, url = start_emulator(rated / "state.json", 0, "--rate-limit", str(RATE),
                                       "--fail-rate", "0.25", "--seed", str(run))
        try:
            walls.append(exact_plan(["mvconf", "plan", str(rated / "dids.yaml"), "--format",
                                     "json", "--parallelism", "16"],
                                    {**ENV, "MINIVOICE_API_URL": url}, RATED_DIDS // 10))
        finally:
            emulator.terminate()
            emulator.wait()
    middle = statistics.median(walls)
    print(f"   10 of 10 exact; {min(walls):.1f}-{max(walls):.1f} s each (median {middle:.1f} s, "
          f"{middle / (RATED_DIDS / RATE):.2f}x the bound): meets the goal")


def diff_git(work: Path) -> None:
    big = work / "big"
    repo = work / "repo"
    (repo / "dids").mkdir(parents=True)
    text = (big / "dids.yaml").read_text()
    (repo / "dids" / "dids.yaml").write_text(text)
    git = ["git", "-C", str(repo), "-c", "user.email=bench@example.invalid", "-c",
           "user.name=bench"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    lines = text.splitlines(keepends=True)
    changed = seen = 0
    for index, line in enumerate(lines):  # every tenth DID moves to the other application
        if line == "    application: main\n":
            if seen % 10 == 0:
                lines[index] = "    application: other\n"
                changed += 1
            seen += 1
    (repo / "dids" / "dids.yaml").write_text("".join(lines))
    print(f"== diff --base HEAD, 10,000 DIDs, {changed} changed ({RUNS} runs)")
    wall, _ = measure("mvconf diff", ["mvconf", "diff", "--base", "HEAD",
                                      str(repo / "dids"), "--format", "json"],
                      env={**ENV, "GIT_DIR": str(repo / ".git"), "GIT_WORK_TREE": str(repo)})
    print(f"   goal under 2 s: {verdict(wall < 2)}")


def ranges(work: Path) -> None:
    big = work / "big"
    ranged = work / "ranged.yaml"
    ranged.write_text("version: 1\napplications: {main: app_123}\ndids:\n" + "".join(
        f'  - range: "+1555{i * 1000:07d}..+1555{i * 1000 + 999:07d}"\n'
        "    application: main\n    route_mode: webhook\n" for i in range(10)))
    print(f"== validate 10,000 DIDs: 10 ranges against 10,000 entries ({RUNS} runs)")
    as_ranges, _ = measure("10 ranges", ["mvconf", "validate", str(ranged)])
    as_entries, _ = measure("10,000 entries", ["mvconf", "validate", str(big / "dids.yaml")])
    print(f"   ranges take {as_ranges / as_entries:.2f}x the entries' time (goal < 1): "
          f"{verdict(as_ranges < as_entries)}")


# The network-bound run goes first, while the machine is rested: it is the most sensitive to
# CPU throttling of shared machines (seen here: the same loop 60% slower after a minute of load).
SECTIONS = {"network": network, "validate": validate, "plan": plan_cpu, "apply": apply,
            "events": events, "ratelimit": rate_limited, "ratefaults": rate_faults,
            "diff": diff_git, "ranges": ranges}

if __name__ == "__main__":
    main()
