"""Fixtures; the helpers tests share are in helpers.py."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from .helpers import invoke


@pytest.fixture
def cli():
    return invoke


@pytest.fixture
def write(tmp_path):
    """Write a dedented text file under tmp_path and return its path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    return _write


@pytest.fixture
def state_file(tmp_path):
    """Write an emulator state file with one key (test-key, cust_123) and the given DIDs."""

    def _state(dids: list[dict], name: str = "state.json", keys: list | None = None) -> Path:
        path = tmp_path / name
        path.write_text(json.dumps({
            "api_keys": keys or [{"key": "test-key", "customer_id": "cust_123",
                                  "application_id": "app_123"}],
            "dids": dids,
        }, indent=1))
        return path

    return _state
