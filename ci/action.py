"""The steps of the mvconf GitHub Action (action.yml, SPEC §13, §19).

Inputs arrive as environment variables (never interpolated into a shell script, so a branch
name or a manifest cannot inject commands): MVCONF_COMMAND, MVCONF_PATHS, MVCONF_ENVIRONMENT,
MVCONF_ARGS, MVCONF_BASE, MVCONF_CHANGED_SINCE, MVCONF_COMMENT, MVCONF_REQUIRE_CHECKSUM,
MVCONF_SARIF, MVCONF_PLANS, MVCONF_API_KEY, MVCONF_API_KEY_ENV.

Commands: validate, plan, apply, diff (mvconf's), and three for the recipes' jobs:
`environments` (the matrix of mvconf.toml's environments, each with its `api_key_env`),
`comment` (every environment's plan, from the plan jobs' artifacts, into the one comment) and
`drift` (a full plan that opens, updates or closes the environment's drift issue, ci/drift.py).

Nothing mvconf prints can become a workflow command: its output is shown between
`::stop-commands::TOKEN` and `::TOKEN::` with a random token, and outputs are written with a
random heredoc delimiter. validate's own annotations (`--format github`, escaped by mvconf) are
then given again, one strictly-formed line each. Boolean inputs are `true` or `false`, anything
else stops the job. apply with require-reviewed-checksum passes `--checksum` from mvconf's own
comment on the merged pull request; the checksum output comes from the JSON plan, never from text.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import comment  # noqa: E402
import drift  # noqa: E402
import environments  # noqa: E402
from forge import ForgeError, GitHub  # noqa: E402

COMMANDS = ("validate", "plan", "apply", "diff", "environments", "comment", "drift")
ENV_NAME = environments.ENV_NAME
VAR_NAME = environments.VAR_NAME
ANNOTATION = re.compile(r"::(error|warning|notice)( [A-Za-z]+=[^,:\r\n]*(,[A-Za-z]+=[^,:\r\n]*)*)?"
                        r"::[^\r\n]*")


class Refused(Exception):
    """An input the action will not run with; the message says why."""


INPUTS = {"MVCONF_REQUIRE_CHECKSUM": "require-reviewed-checksum"}  # the action's own names


def flag(name: str, default: str) -> bool:
    value = os.environ.get(name, default)
    if value not in ("true", "false"):
        shown = INPUTS.get(name, name.removeprefix("MVCONF_").lower().replace("_", "-"))
        raise Refused(f"{shown} must be true or false, not {value!r}")
    return value == "true"


def output(name: str, value: str) -> None:
    target = os.environ.get("GITHUB_OUTPUT")
    if target:
        delimiter = f"mvconf_{secrets.token_hex(16)}"
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def fence(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}text\n{text}\n{ticks}"


def summary(text: str) -> None:
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(text + "\n")


def show(done: subprocess.CompletedProcess) -> None:
    """mvconf's output in the log, with workflow commands stopped around it."""
    token = secrets.token_hex(16)
    sys.stdout.write(f"::stop-commands::{token}\n")
    sys.stdout.write(done.stdout if done.stdout.endswith("\n") or not done.stdout
                     else done.stdout + "\n")
    sys.stdout.write(done.stderr if done.stderr.endswith("\n") or not done.stderr
                     else done.stderr + "\n")
    sys.stdout.write(f"::{token}::\n")
    sys.stdout.flush()


def pull_request() -> int | None:
    event = os.environ.get("GITHUB_EVENT_PATH")
    if not event or not os.environ.get("GITHUB_EVENT_NAME", "").startswith("pull_request"):
        return None
    try:
        data = json.loads(Path(event).read_text(encoding="utf-8"))
        return int(data["pull_request"]["number"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def environment() -> str:
    name = os.environ.get("MVCONF_ENVIRONMENT", "")
    if name and not ENV_NAME.fullmatch(name):
        raise Refused(f"environment: not an environment name: {name!r}")
    return name


def child_env() -> dict[str, str]:
    """The environment of mvconf: the api-key input under its environment's api_key_env."""
    env = {k: v for k, v in os.environ.items() if k not in ("MVCONF_API_KEY", "GH_TOKEN")}
    key = os.environ.get("MVCONF_API_KEY", "")
    if key:
        name = os.environ.get("MVCONF_API_KEY_ENV") or "MINIVOICE_API_KEY"
        if not VAR_NAME.fullmatch(name):
            raise Refused(f"api-key-env: not a variable name: {name!r}")
        if name in os.environ:  # PATH, PYTHONPATH, GITHUB_*...: never replaced by a key
            raise Refused(f"api-key-env: {name} is already set in this job; name the "
                          "environment's own key variable")
        env[name] = key
    return env


def run(argv: list[str]) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, capture_output=True, text=True, env=child_env())
    show(done)
    return done


def base_argv(command: str) -> list[str]:
    # This runs on the Python of the venv mvconf was installed into (action.yml).
    argv = [sys.executable, "-m", "mvconf", command,
            *shlex.split(os.environ.get("MVCONF_PATHS", ""))]
    if environment():
        argv += ["--env", environment()]
    return argv


def extra() -> list[str]:
    return shlex.split(os.environ.get("MVCONF_ARGS", ""))


def changed_since() -> list[str]:
    rev = os.environ.get("MVCONF_CHANGED_SINCE", "")
    return ["--changed-since", rev] if rev else []


def checksum_of(plan: Path) -> str:
    try:
        value = json.loads(plan.read_text(encoding="utf-8")).get("checksum", "")
    except (OSError, ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) and re.fullmatch(r"[0-9a-f]{64}", value) else ""


def outdir() -> Path:
    root = Path(os.environ.get("RUNNER_TEMP") or tempfile.gettempdir())
    where = Path(tempfile.mkdtemp(prefix=f"mvconf-{environment() or 'plan'}-", dir=root))
    return where


def do_validate() -> int:
    sarif = os.environ.get("MVCONF_SARIF", "")
    if sarif:
        done = run([*base_argv("validate"), "--format", "sarif", *extra()])
        if done.stdout.lstrip().startswith("{"):
            Path(sarif).write_text(done.stdout, encoding="utf-8")
        else:
            print("::warning title=mvconf::validate wrote no SARIF; nothing to upload")
    done = run([*base_argv("validate"), "--format", "github", *extra()])
    for line in done.stdout.splitlines():
        if ANNOTATION.fullmatch(line):
            print(line)  # mvconf escaped it (--format github); one line, one annotation
    if done.returncode:
        summary(f"mvconf validate found problems (exit {done.returncode}):\n\n"
                + fence(done.stdout[-20000:] + done.stderr[-3000:]))
    return done.returncode


def do_plan_or_diff(command: str) -> int:
    where = outdir()
    plan, markdown = where / "plan.json", where / "plan.md"
    argv = base_argv(command) + ["--format", "markdown"]
    if command == "plan":
        argv += ["--out", str(plan), *changed_since()]
    else:
        argv += ["--base", os.environ.get("MVCONF_BASE") or "HEAD^"]
    done = run(argv + extra())
    output("exit-code", str(done.returncode))
    output("checksum", checksum_of(plan) if command == "plan" else "")
    if not done.stdout.startswith(comment.MARKER):
        summary(f"mvconf {command} failed (exit {done.returncode}):\n\n"
                + fence(done.stderr[-3000:]))
        return done.returncode
    markdown.write_text(done.stdout, encoding="utf-8")
    output("markdown-file", str(markdown))
    output("plan-file", str(plan) if plan.exists() else "")
    summary(done.stdout)
    number = pull_request()
    if number and flag("MVCONF_COMMENT", "true"):
        part = comment.read_part(str(markdown), str(plan) if plan.exists() else "-")
        try:
            print(f"mvconf comment {comment.upsert(github(), number, comment.compose([part]))}")
        except ForgeError:
            print("::warning::the pull-request comment could not be written (a fork's token is "
                  "read-only); the plan is in the job summary")
    return done.returncode


def github() -> GitHub:
    return GitHub(os.environ["GITHUB_REPOSITORY"])


def do_apply() -> int:
    argv = base_argv("apply") + ["--auto-approve", *changed_since()]
    reviewed = ""
    if flag("MVCONF_REQUIRE_CHECKSUM", "true"):
        reviewed = comment.reviewed_checksum(github(), os.environ["GITHUB_SHA"],
                                             environment()) or ""
        if not reviewed:
            raise Refused("no reviewed plan checksum found in mvconf's own comment on the merged "
                          "pull request: plan it in a pull request first")
        argv += ["--checksum", reviewed]
    done = run(argv + extra())
    output("exit-code", str(done.returncode))
    output("checksum", reviewed if done.returncode in (0, 3) else "")
    if done.returncode not in (0, 3):
        summary(f"mvconf apply failed (exit {done.returncode}):\n\n" + fence(done.stderr[-3000:]))
    return done.returncode


def do_environments() -> int:
    """The matrix: [{"name", "api_key_env", "review", "deploy"}] from mvconf.toml."""
    try:
        found = environments.matrix(Path(os.environ.get("MVCONF_PROJECT") or "mvconf.toml"))
    except environments.Invalid as exc:
        raise Refused(str(exc)) from exc
    output("matrix", json.dumps(found))
    print("environments: " + ", ".join(m["name"] or "(none)" for m in found))
    return 0


def do_comment() -> int:
    """Every plan (plan.md + plan.json) and diff (plan.md) under MVCONF_PLANS, in one comment."""
    root = Path(os.environ.get("MVCONF_PLANS") or ".")
    parts = []
    for markdown in sorted(root.rglob("plan.md")):
        plan = markdown.with_name("plan.json")
        parts.append(comment.read_part(str(markdown), str(plan) if plan.exists() else "-"))
    number = pull_request()
    if not parts or not number:
        print("no plans, or not a pull request: no comment")
        return 0
    print(f"mvconf comment {comment.upsert(github(), number, comment.compose(parts))}")
    return 0


def do_drift() -> int:
    name = environment() or "default"  # a project without environments
    done = run(base_argv("plan") + ["--format", "markdown", "--detailed-exitcode", *extra()])
    output("exit-code", str(done.returncode))
    if done.returncode == 2:
        summary(done.stdout)
    server = os.environ.get("GITHUB_SERVER_URL", "https://github.com")
    run_url = (f"{server}/{os.environ.get('GITHUB_REPOSITORY', '')}/actions/runs/"
               f"{os.environ.get('GITHUB_RUN_ID', '')}") if os.environ.get("GITHUB_RUN_ID") else ""
    print(f"mvconf drift {name}: "
          f"{drift.sync(github(), name, done.stdout, done.returncode, run_url)}")
    return 0


def main() -> int:
    command = os.environ.get("MVCONF_COMMAND", "")
    try:
        if command not in COMMANDS:
            raise Refused(f"command must be one of {', '.join(COMMANDS)}, not {command!r}")
        flag("MVCONF_COMMENT", "true")
        flag("MVCONF_REQUIRE_CHECKSUM", "true")
        environment()
        child_env()
        if command == "validate":
            return do_validate()
        if command in ("plan", "diff"):
            return do_plan_or_diff(command)
        if command == "apply":
            return do_apply()
        if command == "environments":
            return do_environments()
        if command == "comment":
            return do_comment()
        return do_drift()
    except Refused as exc:
        print(f"::error title=mvconf::{escape(str(exc))}")
        return 1
    except (ForgeError, OSError, ValueError, KeyError) as exc:
        print(f"::error title=mvconf::{escape(f'{command}: {exc}')}")
        return 1


def escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


if __name__ == "__main__":
    sys.exit(main())
