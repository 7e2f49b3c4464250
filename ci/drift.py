"""The scheduled drift job's issue (SPEC §19): one issue per environment, found by its first line
`<!-- mvconf-drift:ENV -->` among the issues the token's own identity wrote (ci/forge.py).

    mvconf plan --env ENV --detailed-exitcode --format markdown > plan.md; code=$?
    python3 ci/drift.py github --repo OWNER/NAME --environment ENV --plan plan.md --exit-code $code
    python3 ci/drift.py gitlab --api-url "$CI_API_V4_URL" --project "$CI_PROJECT_ID" \\
        --environment ENV --plan plan.md --exit-code $code        # token: MVCONF_GITLAB_TOKEN

Exit code 2 (drift): the issue is created, or updated with this plan (reopened if it was
closed), so there is never a second one. 0 (clean): an open issue gets a note and is closed.
Anything else: the plan failed; the issue is left as it is and this exits 1.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from forge import ForgeError, open_forge  # noqa: E402

PLAN_MARKER = "<!-- mvconf-plan -->"
ENV_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
LIMIT = 65_000


def marker(environment: str) -> str:
    return f"<!-- mvconf-drift:{environment} -->"


def body(environment: str, plan: str, run_url: str) -> str:
    if plan.startswith(PLAN_MARKER):
        plan = plan[len(PLAN_MARKER):].lstrip("\n")
    where = f" ([run]({run_url}))" if run_url else ""
    head = (f"{marker(environment)}\nThe live account of environment `{environment}` differs "
            f"from the manifests{where}. Apply the manifests, or accept the live values with "
            "`mvconf import --into`; this issue is closed by the next clean scheduled plan.\n\n")
    room = LIMIT - len(head)
    if len(plan) > room:
        plan = plan[:room - 200].rsplit("\n", 1)[0] + "\n\n(cut: the full plan is in the job log)\n"
    return head + plan


def _first_line(text: str) -> str:
    """An issue body's first line, whatever its line ending (a body edited in the web editor
    is saved with CRLF)."""
    return text.split("\n", 1)[0].rstrip("\r").strip()


def sync(forge, environment: str, plan: str, code: int, run_url: str = "") -> str:
    mine = [i for i in forge.issues() if _first_line(i["body"]) == marker(environment)]
    opened = [i for i in mine if i["open"]]
    if code == 2:
        text = body(environment, plan, run_url)
        if opened:
            keep, *extra = opened
            forge.edit_issue(keep["key"], body=text)
            for other in extra:  # left by an older, unguarded run: folded into the first
                forge.note_issue(other["key"], f"Duplicate of #{keep['key']}.")
                forge.edit_issue(other["key"], state="closed")
            return f"updated #{keep['key']}"
        if mine:
            last = mine[-1]
            forge.edit_issue(last["key"], body=text, state="open")
            return f"reopened #{last['key']}"
        return f"opened #{forge.create_issue(f'mvconf: drift in {environment}', text)}"
    if code == 0:
        for issue in opened:
            forge.note_issue(issue["key"], "The scheduled plan is clean again: the account "
                             f"matches the manifests{f' ({run_url})' if run_url else ''}. "
                             "Closing.")
            forge.edit_issue(issue["key"], state="closed")
        return f"closed {', '.join('#' + str(i['key']) for i in opened)}" if opened else "clean"
    raise ForgeError(f"the plan failed (exit {code}); the drift issue is left as it was")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="where", required=True)
    for name in ("github", "gitlab"):
        command = sub.add_parser(name)
        if name == "github":
            command.add_argument("--repo", required=True)
        else:
            command.add_argument("--api-url", required=True)
            command.add_argument("--project", required=True)
        command.add_argument("--environment", required=True)
        command.add_argument("--plan", required=True, help="the markdown plan")
        command.add_argument("--exit-code", type=int, required=True,
                             help="plan --detailed-exitcode's exit code")
        command.add_argument("--run-url", default="")
    args = parser.parse_args(argv)
    if not ENV_NAME.fullmatch(args.environment):
        parser.error("--environment: not an environment name")
    try:
        forge = open_forge(args.where == "github", args)
        plan = Path(args.plan).read_text(encoding="utf-8")[:1_000_000] \
            if args.exit_code == 2 else ""
        print(f"mvconf drift {args.environment}: "
              f"{sync(forge, args.environment, plan, args.exit_code, args.run_url)}")
    except (ForgeError, OSError, ValueError, KeyError, TypeError) as exc:
        print(f"mvconf drift {args.environment}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
