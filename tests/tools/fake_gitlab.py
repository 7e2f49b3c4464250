"""A stand-in for the GitLab REST API calls of ci/forge.py, on a loopback port: merge-request
notes, issues and their notes, the merge requests of a commit, and GET /user. A token is a
user (`tokens`); what a token writes carries that user as its author. Lists are paged."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class FakeGitLab:
    def __init__(self, tokens: dict[str, dict]):
        self.tokens = tokens  # token -> {"id", "username"}
        self.notes: dict[int, list[dict]] = {}  # merge request iid -> notes
        self.issues: list[dict] = []
        self.issue_notes: dict[int, list[dict]] = {}
        self.commit_mrs: dict[str, list[dict]] = {}
        self.calls: list[tuple[str, str]] = []
        self.next_id = 500
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in
                        parse_qs(self.rfile.read(length).decode()).items()} if length else {}
                user = fake.tokens.get(self.headers.get("PRIVATE-TOKEN", ""))
                if user is None:
                    return self._answer(401, {"message": "401 Unauthorized"})
                with fake.lock:
                    fake.calls.append((self.command, self.path))
                    status, body = fake.route(self.command, self.path, form, user)
                return self._answer(status, body)

            do_GET = do_POST = do_PUT = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v4"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id

    def route(self, method, target, form, user):
        split = urlsplit(target)
        path, query = split.path, {k: v[0] for k, v in parse_qs(split.query).items()}

        def page(items):
            size, number = int(query.get("per_page", 20)), int(query.get("page", 1))
            return 200, items[(number - 1) * size:number * size]

        author = {"id": user["id"], "username": user["username"]}
        if path == "/api/v4/user":
            return 200, user
        m = re.fullmatch(r"/api/v4/projects/[^/]+(/.*)", path)
        if not m:
            return 404, {"message": "404 Not Found"}
        rest = m.group(1)
        if m := re.fullmatch(r"/merge_requests/(\d+)/notes", rest):
            notes = self.notes.setdefault(int(m.group(1)), [])
            if method == "GET":
                return page(notes)
            note = {"id": self._id(), "body": form["body"], "author": author, "system": False,
                    "noteable_iid": int(m.group(1))}
            notes.append(note)
            return 201, note
        if m := re.fullmatch(r"/merge_requests/(\d+)/notes/(\d+)", rest):
            for note in self.notes.get(int(m.group(1)), []):
                if note["id"] == int(m.group(2)):
                    if note["author"]["id"] != user["id"]:
                        return 403, {"message": "403 Forbidden"}
                    note["body"] = form["body"]
                    return 200, note
            return 404, {"message": "404 Not found"}
        if m := re.fullmatch(r"/repository/commits/([0-9a-f]+)/merge_requests", rest):
            return 200, self.commit_mrs.get(m.group(1), [])
        if rest == "/issues":
            if method == "GET":
                return page(self.issues)
            issue = {"iid": self._id(), "title": form["title"], "description": form["description"],
                     "state": "opened", "author": author}
            self.issues.append(issue)
            return 201, issue
        if m := re.fullmatch(r"/issues/(\d+)", rest):
            for issue in self.issues:
                if issue["iid"] == int(m.group(1)):
                    if "description" in form:
                        issue["description"] = form["description"]
                    event = form.get("state_event")
                    if event:
                        issue["state"] = "closed" if event == "close" else "opened"
                    return 200, issue
            return 404, {"message": "404 Not found"}
        if m := re.fullmatch(r"/issues/(\d+)/notes", rest):
            note = {"id": self._id(), "body": form["body"], "author": author}
            self.issue_notes.setdefault(int(m.group(1)), []).append(note)
            return 201, note
        return 404, {"message": "404 Not Found"}
