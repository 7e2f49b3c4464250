"""The environments of mvconf.toml, for the recipes' per-environment jobs (SPEC §19).

    python3 ci/environments.py                     # the JSON matrix the GitHub recipe uses
    python3 ci/environments.py --check "staging production"   # the GitLab recipe's list

Each entry is {"name", "api_key_env", "review", "deploy"}: the mvconf environment, the variable
its key is read from, and the CI environments of its plan jobs (`NAME-plan`) and of its apply
and drift jobs (`NAME`). A project without environments is one entry with the name "".
`--check` fails, naming both lists, when the recipe lists other environments than mvconf.toml.
Standard library only.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from pathlib import Path

ENV_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


class Invalid(Exception):
    """The project file cannot give a matrix; the message says why."""


def matrix(project: Path) -> list[dict[str, str]]:
    try:
        data = tomllib.loads(project.read_text(encoding="utf-8")) if project.exists() else {}
    except (OSError, ValueError) as exc:
        raise Invalid(f"{project}: {exc}") from exc
    envs = data.get("environments") or {}
    if not isinstance(envs, dict):
        raise Invalid(f"{project}: environments is not a table")
    found = []
    for name, table in sorted(envs.items()):
        key = table.get("api_key_env") if isinstance(table, dict) else None
        if not ENV_NAME.fullmatch(name) or not (isinstance(key, str) and VAR_NAME.fullmatch(key)):
            raise Invalid(f"{project}: environment {name!r} needs a name of letters, digits, _ "
                          "and - and an api_key_env that is a variable name")
        found.append({"name": name, "api_key_env": key, "review": f"{name}-plan",
                      "deploy": name})
    return found or [{"name": "", "api_key_env": "MINIVOICE_API_KEY",
                      "review": "minivoice-plan", "deploy": "minivoice"}]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", default="mvconf.toml")
    parser.add_argument("--check", metavar="NAMES",
                        help="the environments the recipe lists, space-separated")
    args = parser.parse_args(argv)
    try:
        found = matrix(Path(args.project))
    except Invalid as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.check is None:
        print(json.dumps(found))
        return 0
    defined = sorted(e["name"] for e in found if e["name"])
    listed = sorted(set(args.check.split()))
    if defined != listed:
        print(f"{args.project} defines the environments {' '.join(defined) or '(none)'}, the "
              f"pipeline lists {' '.join(listed) or '(none)'}: list the same in the pipeline "
              "(.environments and MVCONF_ENVIRONMENTS)", file=sys.stderr)
        return 1
    print(f"environments: {' '.join(defined)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
