#!/usr/bin/env python3
"""A stand-in for the `gh` CLI's `gh api` calls that ci/comment.py makes, keeping pull-request
comments in the JSON file named by FAKE_GH_STATE. Every call is appended to its "calls"."""

import json
import os
import re
import sys

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
path, fields = args[0], dict(a.split("=", 1) for a in args[2::2]) if len(args) > 1 else {}
comments = state.setdefault("comments", {})
out = None
if m := re.match(r"repos/[^/]+/[^/]+/issues/(\d+)/comments\?per_page=100&page=(\d+)$", path):
    out = comments.get(m.group(1), []) if m.group(2) == "1" else []
elif m := re.match(r"repos/[^/]+/[^/]+/issues/(\d+)/comments$", path):
    assert method == "POST"
    item = {"id": state.setdefault("next_id", 100), "body": fields["body"]}
    state["next_id"] += 1
    comments.setdefault(m.group(1), []).append(item)
    out = item
elif m := re.match(r"repos/[^/]+/[^/]+/issues/comments/(\d+)$", path):
    assert method == "PATCH"
    for items in comments.values():
        for item in items:
            if item["id"] == int(m.group(1)):
                item["body"] = fields["body"]
                out = item
elif m := re.match(r"repos/[^/]+/[^/]+/commits/([0-9a-f]+)/pulls$", path):
    out = [{"number": n} for n in state.get("pulls", {}).get(m.group(1), [])]
else:
    sys.exit(f"fake gh: unexpected {method} {path}")
with open(state_path, "w") as handle:
    json.dump(state, handle)
print(json.dumps(out))
