"""The steps of the mvconf GitHub Action (action.yml): run one mvconf command, put its markdown
in the job summary, keep the one pull-request comment up to date, and set the outputs.

Inputs arrive as environment variables (never interpolated into a shell script, so a branch
name or a manifest cannot inject commands): MVCONF_COMMAND (validate | plan | apply | diff),
MVCONF_PATHS, MVCONF_ENVIRONMENT, MVCONF_ARGS, MVCONF_BASE, MVCONF_COMMENT,
MVCONF_REQUIRE_CHECKSUM. Outputs: `exit-code` and, for plan and apply, `checksum`.

apply with MVCONF_REQUIRE_CHECKSUM=true takes the checksum from the comment of the pull request
the pushed commit merged, and passes it as `--checksum`: the merge-time plan must be exactly the
reviewed one, or nothing is changed and the job fails asking for a new review.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import comment  # noqa: E402

COMMANDS = ("validate", "plan", "apply", "diff")


def output(name: str, value: str) -> None:
    target = os.environ.get("GITHUB_OUTPUT")
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(f"{name}={value}\n")


def summary(text: str) -> None:
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(text + "\n")


def pull_request() -> int | None:
    event = os.environ.get("GITHUB_EVENT_PATH")
    if not event or not os.environ.get("GITHUB_EVENT_NAME", "").startswith("pull_request"):
        return None
    try:
        data = json.loads(Path(event).read_text(encoding="utf-8"))
        return int(data["pull_request"]["number"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def build(command: str, work: Path) -> list[str]:
    # This runs on the Python of the venv mvconf was installed into (action.yml).
    argv = [sys.executable, "-m", "mvconf", command,
            *shlex.split(os.environ.get("MVCONF_PATHS", ""))]
    if os.environ.get("MVCONF_ENVIRONMENT"):
        argv += ["--env", os.environ["MVCONF_ENVIRONMENT"]]
    if command == "plan":
        argv += ["--format", "markdown", "--out", str(work / "plan.json")]
    if command == "diff":
        argv += ["--format", "markdown", "--base", os.environ.get("MVCONF_BASE") or "HEAD^"]
    if command == "validate":
        argv += ["--format", "github"]
    if command == "apply":
        argv += ["--auto-approve"]
        if os.environ.get("MVCONF_REQUIRE_CHECKSUM", "true") == "true":
            reviewed = comment.github_reviewed_checksum(os.environ["GITHUB_REPOSITORY"],
                                                        os.environ["GITHUB_SHA"])
            if not reviewed:
                raise SystemExit("no reviewed plan checksum found in the merged pull request's "
                                 "mvconf comment: plan it in a pull request first")
            argv += ["--checksum", reviewed]
    return argv + shlex.split(os.environ.get("MVCONF_ARGS", ""))


def main() -> int:
    command = os.environ.get("MVCONF_COMMAND", "")
    if command not in COMMANDS:
        print(f"command must be one of {', '.join(COMMANDS)}, not {command!r}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        done = subprocess.run(build(command, work), capture_output=True, text=True)
        sys.stdout.write(done.stdout)
        sys.stderr.write(done.stderr)
        output("exit-code", str(done.returncode))
        plan = work / "plan.json"
        checksum = json.loads(plan.read_text())["checksum"] if plan.exists() else ""
        if command == "apply":
            found = re.search(r"Plan checksum: ([0-9a-f]{64})", done.stdout)
            checksum = found.group(1) if found else ""
        output("checksum", checksum)
        if command in ("plan", "diff") and done.stdout.startswith(comment.MARKER):
            summary(done.stdout)
            number = pull_request()
            if number and os.environ.get("MVCONF_COMMENT", "true") == "true":
                body = work / "comment.md"
                body.write_text(done.stdout, encoding="utf-8")
                if comment.main(["github", "--repo", os.environ["GITHUB_REPOSITORY"], "--pr",
                                 str(number), "--body-file", str(body)]) != 0:
                    print("::warning::the pull-request comment could not be written (a fork's "
                          "token is read-only); the plan is in the job summary")
        elif done.returncode:
            summary(f"mvconf {command} failed (exit {done.returncode}):\n\n```\n"
                    f"{done.stderr[-3000:]}\n```")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
