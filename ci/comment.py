"""Create or update the one pull-request (GitHub) or merge-request (GitLab) comment that starts
with mvconf's marker, so every run updates the same comment instead of adding one.

    python3 ci/comment.py github --repo OWNER/NAME --pr 12 --body-file plan.md
    python3 ci/comment.py github-checksum --repo OWNER/NAME --sha COMMIT
    python3 ci/comment.py gitlab --api-url "$CI_API_V4_URL" --project "$CI_PROJECT_ID" \\
        --mr "$CI_MERGE_REQUEST_IID" --body-file plan.md       # token: MVCONF_GITLAB_TOKEN
    python3 ci/comment.py gitlab-checksum --api-url "$CI_API_V4_URL" \\
        --project "$CI_PROJECT_ID" --sha "$CI_COMMIT_SHA"

GitHub goes through the `gh` CLI (on every GitHub-hosted runner; it reads GH_TOKEN), GitLab
through its REST API with the standard library. Standard library only: this runs before and
apart from mvconf's own install.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request

MARKER = "<!-- mvconf-plan -->"
CHECKSUM = re.compile(r"Plan checksum: `([0-9a-f]{64})`")
MAX_PAGES = 50


def gh(*args: str) -> str:
    done = subprocess.run(["gh", "api", *args], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"gh api {args[0]} failed: {done.stderr.strip()[-300:]}")
    return done.stdout


def github_comments(repo: str, pr: int) -> list[dict]:
    comments: list[dict] = []
    for page in range(1, MAX_PAGES + 1):
        batch = json.loads(gh(f"repos/{repo}/issues/{pr}/comments?per_page=100&page={page}")
                           or "[]")
        comments += batch
        if len(batch) < 100:
            break
    return comments


def github_upsert(repo: str, pr: int, body: str) -> str:
    mine = [c for c in github_comments(repo, pr) if str(c.get("body", "")).startswith(MARKER)]
    if mine:
        gh("-X", "PATCH", f"repos/{repo}/issues/comments/{mine[0]['id']}", "-f", f"body={body}")
        return "updated"
    gh("-X", "POST", f"repos/{repo}/issues/{pr}/comments", "-f", f"body={body}")
    return "created"


def github_reviewed_checksum(repo: str, sha: str) -> str | None:
    """The plan checksum in the marker comment of the pull request that `sha` merged."""
    pulls = json.loads(gh(f"repos/{repo}/commits/{sha}/pulls") or "[]")
    for pull in pulls:
        for comment in github_comments(repo, int(pull["number"])):
            text = str(comment.get("body", ""))
            if text.startswith(MARKER):
                found = CHECKSUM.search(text)
                if found:
                    return found.group(1)
    return None


def _gitlab(token: str):
    def call(method: str, url: str, data: dict | None = None):
        request = urllib.request.Request(url, method=method, headers={"PRIVATE-TOKEN": token},
                                         data=urllib.parse.urlencode(data).encode()
                                         if data else None)
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 (https API)
            return json.loads(answer.read(16 * 1024 * 1024) or b"null")
    return call


def _project(api_url: str, project: str) -> str:
    return f"{api_url.rstrip('/')}/projects/{urllib.parse.quote(project, safe='')}"


def gitlab_notes(call, base: str):
    for page in range(1, MAX_PAGES + 1):
        notes = call("GET", f"{base}?per_page=100&page={page}") or []
        yield from notes
        if len(notes) < 100:
            return


def gitlab_reviewed_checksum(api_url: str, project: str, sha: str, token: str) -> str | None:
    """The plan checksum in the marker note of the merge request that merged `sha`."""
    call = _gitlab(token)
    for request in call("GET", f"{_project(api_url, project)}/repository/commits/{sha}/"
                        "merge_requests") or []:
        base = f"{_project(api_url, project)}/merge_requests/{int(request['iid'])}/notes"
        for note in gitlab_notes(call, base):
            text = str(note.get("body", ""))
            found = CHECKSUM.search(text) if text.startswith(MARKER) else None
            if found:
                return found.group(1)
    return None


def gitlab_upsert(api_url: str, project: str, mr: int, token: str, body: str) -> str:
    call = _gitlab(token)
    base = f"{_project(api_url, project)}/merge_requests/{mr}/notes"
    for note in gitlab_notes(call, base):
        if str(note.get("body", "")).startswith(MARKER):
            call("PUT", f"{base}/{note['id']}", {"body": body})
            return "updated"
    call("POST", base, {"body": body})
    return "created"


COMMANDS = {
    "github": ("repo", "pr", "body-file"),
    "github-checksum": ("repo", "sha"),
    "gitlab": ("api-url", "project", "mr", "body-file"),
    "gitlab-checksum": ("api-url", "project", "sha"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="where", required=True)
    for name, options in COMMANDS.items():
        command = sub.add_parser(name)
        for option in options:
            command.add_argument(f"--{option}", required=True,
                                 type=int if option in ("pr", "mr") else str)
    args = parser.parse_args(argv)
    token = os.environ.get("MVCONF_GITLAB_TOKEN", "")
    if args.where.startswith("gitlab") and not token:
        print("MVCONF_GITLAB_TOKEN is not set", file=sys.stderr)
        return 1
    try:
        if args.where.endswith("checksum"):
            if args.where == "github-checksum":
                found = github_reviewed_checksum(args.repo, args.sha)
            else:
                found = gitlab_reviewed_checksum(args.api_url, args.project, args.sha, token)
            print(found or "")
            if not found:
                print("no reviewed plan checksum found: plan it in a pull/merge request first",
                      file=sys.stderr)
            return 0 if found else 1
        with open(args.body_file, encoding="utf-8") as handle:
            body = handle.read(70_000)
        if args.where == "github":
            print(f"mvconf comment {github_upsert(args.repo, args.pr, body)}")
        else:
            print(f"mvconf note {gitlab_upsert(args.api_url, args.project, args.mr, token, body)}")
    except (RuntimeError, OSError, ValueError, KeyError) as exc:
        print(f"could not write the comment: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
