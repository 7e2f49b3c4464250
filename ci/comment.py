"""Create or update the one pull-request (GitHub) or merge-request (GitLab) comment that starts
with mvconf's marker, and read the reviewed plan checksums back from it (SPEC §13, §19).

    python3 ci/comment.py github --repo OWNER/NAME --pr 12 --part plan.md plan.json [--part ...]
    python3 ci/comment.py github-checksum --repo OWNER/NAME --sha COMMIT [--environment NAME]
    python3 ci/comment.py gitlab --api-url "$CI_API_V4_URL" --project "$CI_PROJECT_ID" \\
        --mr "$CI_MERGE_REQUEST_IID" --part plan.md plan.json    # token: MVCONF_GITLAB_TOKEN
    python3 ci/comment.py gitlab-checksum --api-url "$CI_API_V4_URL" \\
        --project "$CI_PROJECT_ID" --sha "$CI_COMMIT_SHA" [--environment NAME]

Each `--part` is one markdown plan (or diff) and, for a plan, its JSON (`--out`; `-` for none):
one comment holds every environment's plan under the one marker, and for each plan a hidden
`<!-- mvconf-checksum:ENV:HEX -->` line whose checksum is the JSON plan's (never read from the
markdown). Only comments written by the token's own identity are found, edited or read for a
checksum (ci/forge.py): another user's comment with the marker is ignored wherever it is.
`--body-file FILE` is the older form of one `--part FILE -`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from forge import ForgeError, GitHub, open_forge  # noqa: E402

MARKER = "<!-- mvconf-plan -->"
TAG = re.compile(r"^<!-- mvconf-checksum:([A-Za-z0-9_-]{0,64}):([0-9a-f]{64}) -->\r?$", re.M)
ENV_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
LIMIT = 65_000
MAX_INPUT = 1_000_000


def read_part(markdown: str, plan_json: str) -> tuple[str, str, str | None]:
    """(environment or "", markdown without its marker, checksum or None) of one plan."""
    text = Path(markdown).read_text(encoding="utf-8")[:MAX_INPUT]
    if text.startswith(MARKER):
        text = text[len(MARKER):].lstrip("\n")
    if plan_json == "-":
        return "", text, None
    data = _plan_head(plan_json)
    checksum = data.get("checksum") if isinstance(data, dict) else None
    if not (isinstance(checksum, str) and re.fullmatch(r"[0-9a-f]{64}", checksum)):
        raise ValueError(f"{plan_json}: no plan checksum in it")
    env = data.get("environment") or ""
    if not (env == "" or (isinstance(env, str) and ENV_NAME.fullmatch(env))):
        raise ValueError(f"{plan_json}: not an environment name")
    return env, text, checksum


CHANGES = '\n  "changes": ['  # where mvconf's JSON plan starts its changes, after the rest
MAX_PLAN = 2 * 1024 ** 3


def _plan_head(plan_json: str):
    """The plan's top-level keys but its changes: read from the head of the file (mvconf writes
    `changes` last), so that a plan of 100,000 DIDs (80 MB) or more is not parsed whole. A file
    laid out otherwise is parsed whole, up to MAX_PLAN bytes."""
    with open(plan_json, encoding="utf-8") as handle:
        head = handle.read(1024 * 1024)
        at = head.find(CHANGES)
        if at > 0:
            try:
                return json.loads(head[:at].rstrip().rstrip(",") + "\n}")
            except ValueError:
                pass
        rest = handle.read(MAX_PLAN)
    return json.loads(head + rest)


def compose(parts: list[tuple[str, str, str | None]]) -> str:
    """One body: the marker first, each plan, then the checksum lines; within the limit."""
    parts = sorted(parts, key=lambda p: p[0])
    tags = [f"<!-- mvconf-checksum:{env}:{checksum} -->" for env, _, checksum in parts
            if checksum]
    bodies = [text.rstrip("\n") for _, text, _ in parts]
    room = LIMIT - len(MARKER) - sum(len(t) + 1 for t in tags) - 2 * len(parts) - 10
    if sum(len(b) + 2 for b in bodies) > room:
        bodies = [_short(env, text, checksum, room // max(len(parts), 1))
                  for env, text, checksum in parts]
    return "\n".join([MARKER, "\n\n".join(bodies), "", *tags]) + "\n"


def _short(env: str, text: str, checksum: str | None, room: int) -> str:
    if len(text) + 2 <= room:
        return text.rstrip("\n")
    head = f"### mvconf plan{' for ' + env if env else ''}"
    line = f"Plan checksum: `{checksum}`" if checksum else ""
    return (f"{head}\n\n{line}\n\nThis plan is too long to share one comment with the others: "
            "it is in the job summary and in the JSON plan.")


def upsert(forge, number: int, body: str) -> str:
    mine = [c for c in forge.comments(number) if str(c.get("body", "")).startswith(MARKER)]
    if mine:
        forge.edit_comment(number, mine[0], body)
        return "updated"
    forge.create_comment(number, body)
    return "created"


def reviewed_checksum(forge, sha: str, environment: str = "") -> str | None:
    """The checksum of `environment`'s plan in our comment on the request that merged `sha`."""
    for number in forge.merged_requests(sha):
        for comment in forge.comments(number):
            text = str(comment.get("body", ""))
            if not text.startswith(MARKER):
                continue
            for env, checksum in TAG.findall(text):
                if env == environment:
                    return checksum
    return None


def github_reviewed_checksum(repo: str, sha: str, environment: str = "") -> str | None:
    return reviewed_checksum(GitHub(repo), sha, environment)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="where", required=True)
    for name in ("github", "github-checksum", "gitlab", "gitlab-checksum"):
        command = sub.add_parser(name)
        if name.startswith("github"):
            command.add_argument("--repo", required=True)
        else:
            command.add_argument("--api-url", required=True)
            command.add_argument("--project", required=True)
        if name.endswith("checksum"):
            command.add_argument("--sha", required=True)
            command.add_argument("--environment", default="")
        else:
            command.add_argument("--pr" if name == "github" else "--mr", dest="number",
                                 type=int, required=True)
            command.add_argument("--part", nargs=2, action="append", default=[],
                                 metavar=("MARKDOWN", "JSON"))
            command.add_argument("--body-file")
    args = parser.parse_args(argv)
    try:
        forge = open_forge(args.where.startswith("github"), args)
        if args.where.endswith("checksum"):
            found = reviewed_checksum(forge, args.sha, args.environment)
            print(found or "")
            if not found:
                print("no reviewed plan checksum found in mvconf's own comment of the merged "
                      "request: plan it in a pull/merge request first", file=sys.stderr)
            return 0 if found else 1
        parts = [read_part(md, js) for md, js in args.part]
        if args.body_file:
            parts.append(read_part(args.body_file, "-"))
        if not parts:
            parser.error("give --part MARKDOWN JSON (or --body-file)")
        print(f"mvconf comment {upsert(forge, args.number, compose(parts))}")
    except (ForgeError, OSError, ValueError, KeyError, TypeError) as exc:
        print(f"could not write the comment: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
