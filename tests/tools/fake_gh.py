#!/usr/bin/env python3
"""A stand-in for the `gh api` calls of ci/forge.py, keeping pull-request comments and issues in
the JSON file named by FAKE_GH_STATE. Every call is appended to its "calls".

State: "me" is the identity of the token ({"login", "type"}; what it writes carries it);
"user_login", when present, is what `gh api user` answers (absent: 403, as for a workflow's
GITHUB_TOKEN); "comments" {number: [{id, body, user}]}; "issues" [{number, title, body, state,
user}]; "pulls" {sha: [{number, merge_commit_sha, merged_at}]}. Lists are paged as GitHub
pages them."""

import json
import os
import re
import sys
from urllib.parse import parse_qs, urlsplit

state_path = os.environ["FAKE_GH_STATE"]
with open(state_path) as handle:
    state = json.load(handle)
args = sys.argv[1:]
state.setdefault("calls", []).append(args)
assert args[0] == "api", args
args = args[1:]
method = "GET"
if args[0] == "-X":
    method, args = args[1], args[2:]
target = args[0]
fields = json.loads(sys.stdin.read()) if "--input" in args else {}
split = urlsplit(target)
path, query = split.path, {k: v[0] for k, v in parse_qs(split.query).items()}
me = state.get("me", {"login": "github-actions[bot]", "type": "Bot"})
comments = state.setdefault("comments", {})
issues = state.setdefault("issues", [])


def fail(message):
    sys.stderr.write(f"gh: {message}\n")
    sys.exit(1)


def page(items):
    size, number = int(query.get("per_page", 30)), int(query.get("page", 1))
    return items[(number - 1) * size:number * size]


def new_id():
    state["next_id"] = state.get("next_id", 100) + 1
    return state["next_id"] - 1


out = None
if path == "user":
    if "user_login" not in state:
        fail("Resource not accessible by integration (HTTP 403)")
    out = {"login": state["user_login"]}
elif m := re.fullmatch(r"repos/[^/]+/[^/]+/issues/(\d+)/comments", path):
    if method == "GET":
        out = page(comments.get(m.group(1), []))
    else:
        assert method == "POST", method
        out = {"id": new_id(), "body": fields["body"], "user": me}
        comments.setdefault(m.group(1), []).append(out)
elif m := re.fullmatch(r"repos/[^/]+/[^/]+/issues/comments/(\d+)", path):
    assert method == "PATCH", method
    for item in (c for items in comments.values() for c in items):
        if item["id"] == int(m.group(1)):
            item["body"] = fields["body"]
            out = item
    if out is None:
        fail("Not Found (HTTP 404)")
elif re.fullmatch(r"repos/[^/]+/[^/]+/issues", path):
    if method == "GET":
        wanted = query.get("state", "open")
        out = page([i for i in issues if wanted == "all" or i["state"] == wanted])
    else:
        assert method == "POST", method
        out = {"number": new_id(), "title": fields["title"], "body": fields["body"],
               "state": "open", "user": me}
        issues.append(out)
elif m := re.fullmatch(r"repos/[^/]+/[^/]+/issues/(\d+)", path):
    assert method == "PATCH", method
    found = [i for i in issues if i["number"] == int(m.group(1))]
    if not found:
        fail("Not Found (HTTP 404)")
    found[0].update(fields)
    out = found[0]
elif m := re.fullmatch(r"repos/[^/]+/[^/]+/commits/([0-9a-f]+)/pulls", path):
    out = [p if isinstance(p, dict) else {"number": p}
           for p in state.get("pulls", {}).get(m.group(1), [])]
else:
    fail(f"fake gh: unexpected {method} {target}")
with open(state_path, "w") as handle:
    json.dump(state, handle)
print(json.dumps(out))
