"""GitHub (through the `gh` CLI) and GitLab (through its REST API) for ci/comment.py and
ci/drift.py, and the one rule both follow: only what the identity of the token in use wrote is
read or edited (SPEC §19). Another user's comment, note or issue is ignored, whatever it holds.

Standard library only: this runs before and apart from mvconf's own install.

GitHub's identity: MVCONF_GH_LOGIN when set (a GitHub App's `SLUG[bot]`), else the login of
`gh api user`, else `github-actions[bot]` (the workflow's GITHUB_TOKEN may not read /user).
A login ending in `[bot]` is trusted only on a user of type `Bot`, which no person can be.
GitLab's identity: the user of the token (GET /user), matched by id.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

MAX_PAGES = 50
PER_PAGE = 100
ACTIONS_BOT = "github-actions[bot]"



def pages(call, path: str, label: str) -> Iterator[dict]:
    """Every item of a paged list (GitHub and GitLab page alike), or an error: never a partial
    list, on which the drift job could open a duplicate."""
    joiner = "&" if "?" in path else "?"
    for page in range(1, MAX_PAGES + 1):
        batch = call("GET", f"{path}{joiner}per_page={PER_PAGE}&page={page}") or []
        if not isinstance(batch, list):
            raise ForgeError(f"{label} {path.split('?')[0]}: not a list")
        yield from (item for item in batch if isinstance(item, dict))
        if len(batch) < PER_PAGE:
            return
    raise ForgeError(f"{path.split('?')[0]}: more than {MAX_PAGES * PER_PAGE} items; stopped "
                     "rather than act on a partial list (a duplicate could be made)")

class ForgeError(Exception):
    """GitHub or GitLab refused or failed a call; the message says which."""


class GitHub:
    def __init__(self, repo: str):
        self.repo = repo
        self._login: str | None = None

    def call(self, method: str, path: str, body: dict | None = None):
        argv = ["gh", "api", "-X", method, path]
        if body is not None:
            argv += ["--input", "-"]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                                  input=json.dumps(body) if body is not None else None)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ForgeError(f"gh api {method} {path}: {exc}") from exc
        if done.returncode != 0:
            raise ForgeError(f"gh api {method} {path} failed: {done.stderr.strip()[-300:]}")
        try:
            return json.loads(done.stdout or "null")
        except ValueError as exc:
            raise ForgeError(f"gh api {method} {path}: not JSON") from exc

    def pages(self, path: str) -> Iterator[dict]:
        return pages(self.call, path, "gh api GET")

    def login(self) -> str:
        if self._login is None:
            self._login = os.environ.get("MVCONF_GH_LOGIN", "").strip()
        if not self._login:
            try:
                self._login = str((self.call("GET", "user") or {}).get("login") or "")
            except ForgeError:
                self._login = ""
            self._login = self._login or ACTIONS_BOT
        return self._login

    def ours(self, item: dict) -> bool:
        user = item.get("user")
        if not isinstance(user, dict) or user.get("login") != self.login():
            return False
        return not self.login().endswith("[bot]") or user.get("type") == "Bot"

    # pull-request comments
    def comments(self, number: int) -> list[dict]:
        return [c for c in self.pages(f"repos/{self.repo}/issues/{number}/comments")
                if self.ours(c)]

    def create_comment(self, number: int, body: str) -> None:
        self.call("POST", f"repos/{self.repo}/issues/{number}/comments", {"body": body})

    def edit_comment(self, number: int, comment: dict, body: str) -> None:
        self.call("PATCH", f"repos/{self.repo}/issues/comments/{int(comment['id'])}",
                  {"body": body})

    def merged_requests(self, sha: str) -> list[int]:
        pulls = [p for p in self.call("GET", f"repos/{self.repo}/commits/{sha}/pulls") or []
                 if isinstance(p, dict)]
        # Only a pull request merged as this commit: never an open or closed one that merely
        # contains it, whose comment nobody merged.
        return [int(p["number"]) for p in pulls
                if p.get("merged_at") and p.get("merge_commit_sha") == sha]

    # issues (the drift job)
    def issues(self) -> list[dict]:
        # The most recently updated first: a drift issue is updated on every drifting run.
        found = self.pages(f"repos/{self.repo}/issues?state=all&sort=updated&direction=desc")
        return sorted(({"key": int(i["number"]), "body": str(i.get("body") or ""),
                        "open": i.get("state") == "open"}
                       for i in found if "pull_request" not in i and self.ours(i)),
                      key=lambda i: i["key"])

    def create_issue(self, title: str, body: str) -> int:
        made = self.call("POST", f"repos/{self.repo}/issues", {"title": title, "body": body})
        return int(made["number"])

    def edit_issue(self, key: int, body: str | None = None, state: str | None = None) -> None:
        change = {k: v for k, v in (("body", body), ("state", state)) if v is not None}
        self.call("PATCH", f"repos/{self.repo}/issues/{key}", change)

    def note_issue(self, key: int, body: str) -> None:
        self.create_comment(key, body)


class GitLab:
    def __init__(self, api_url: str, project: str, token: str):
        if not token:
            raise ForgeError("MVCONF_GITLAB_TOKEN is not set")
        self.api = api_url.rstrip("/")
        self.base = f"{self.api}/projects/{urllib.parse.quote(project, safe='')}"
        self.token = token
        self._user: int | None = None

    def call(self, method: str, url: str, data: dict | None = None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(url, method=method, data=body,
                                         headers={"PRIVATE-TOKEN": self.token})
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 (API URL)
                return json.loads(answer.read(16 * 1024 * 1024) or b"null")
        except urllib.error.HTTPError as exc:
            raise ForgeError(f"GitLab {method} {url.split('?')[0]}: HTTP {exc.code}") from exc
        except (OSError, ValueError) as exc:
            raise ForgeError(f"GitLab {method} {url.split('?')[0]}: {exc}") from exc

    def pages(self, url: str) -> Iterator[dict]:
        return pages(self.call, url, "GitLab GET")

    def user(self) -> int:
        if self._user is None:
            me = self.call("GET", f"{self.api}/user") or {}
            if not isinstance(me, dict) or not isinstance(me.get("id"), int):
                raise ForgeError("GitLab GET /user: no user id for this token")
            self._user = me["id"]
        return self._user

    def ours(self, item: dict) -> bool:
        author = item.get("author")
        return isinstance(author, dict) and author.get("id") == self.user()

    # merge-request notes
    def comments(self, number: int) -> list[dict]:
        return [n for n in self.pages(f"{self.base}/merge_requests/{number}/notes?sort=asc")
                if self.ours(n) and not n.get("system")]

    def create_comment(self, number: int, body: str) -> None:
        self.call("POST", f"{self.base}/merge_requests/{number}/notes", {"body": body})

    def edit_comment(self, number: int, comment: dict, body: str) -> None:
        self.call("PUT", f"{self.base}/merge_requests/{number}/notes/{int(comment['id'])}",
                  {"body": body})

    def merged_requests(self, sha: str) -> list[int]:
        found = self.call("GET", f"{self.base}/repository/commits/{sha}/merge_requests") or []
        requests = [r for r in found if isinstance(r, dict)]
        # Merged as this commit: its merge or squash commit, or its head when fast-forwarded
        # (GitLab leaves merge_commit_sha empty then). Never an open or closed one.
        return [int(r["iid"]) for r in requests if r.get("state") == "merged"
                and sha in (r.get("merge_commit_sha"), r.get("squash_commit_sha"), r.get("sha"))]

    # issues (the drift job)
    def issues(self) -> list[dict]:
        found = self.pages(f"{self.base}/issues?scope=all&author_id={self.user()}"
                           "&order_by=updated_at&sort=desc")
        return sorted(({"key": int(i["iid"]), "body": str(i.get("description") or ""),
                        "open": i.get("state") == "opened"} for i in found if self.ours(i)),
                      key=lambda i: i["key"])

    def create_issue(self, title: str, body: str) -> int:
        made = self.call("POST", f"{self.base}/issues", {"title": title, "description": body})
        return int(made["iid"])

    def edit_issue(self, key: int, body: str | None = None, state: str | None = None) -> None:
        change = {"description": body} if body is not None else {}
        if state:
            change["state_event"] = "close" if state == "closed" else "reopen"
        self.call("PUT", f"{self.base}/issues/{key}", change)

    def note_issue(self, key: int, body: str) -> None:
        self.call("POST", f"{self.base}/issues/{key}/notes", {"body": body})


def open_forge(github: bool, args) -> GitHub | GitLab:
    """The forge a script's arguments name: GitHub through `gh` (--repo), or GitLab's API
    (--api-url, --project) with the token in MVCONF_GITLAB_TOKEN."""
    if github:
        return GitHub(args.repo)
    return GitLab(args.api_url, args.project, os.environ.get("MVCONF_GITLAB_TOKEN", ""))
