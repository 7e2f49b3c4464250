"""The emulator's state file: what it accepts, what it refuses, and what it fills in."""

from __future__ import annotations

import json

import pytest

from mvconf.core.errors import InputError
from mvconf.emulator.store import Store

KEY = {"key": "k", "customer_id": "cust_1", "application_id": "app_1"}


def store_of(tmp_path, data, name="state.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return Store(path)


@pytest.mark.parametrize("data, words", [
    ("[1, 2]", "must be a mapping"),
    ({"dids": []}, "'api_keys' must be a non-empty list"),
    ({"api_keys": [{"key": ""}]}, "non-empty string 'key'"),
    ({"api_keys": [{"key": "k"}]}, "string 'customer_id'"),
    ({"api_keys": [KEY], "dids": {}}, "'dids' must be a list"),
    ({"api_keys": [KEY], "dids": [{"id": "d1"}]}, "needs a string 'number_e164'"),
    ({"api_keys": [KEY], "dids": [{"id": "d1", "number_e164": "+15551230001"},
                                  {"id": "d1", "number_e164": "+15551230002"}]}, "repeats id d1"),
    ({"api_keys": [KEY], "write_errors": ["x"]}, "'write_errors' must map"),
    ("{not json", "not valid JSON/YAML"),
])
def test_bad_state_files_are_refused_naming_the_problem(tmp_path, data, words):
    with pytest.raises(InputError, match=words):
        store_of(tmp_path, data)


def test_missing_fields_are_filled_in(tmp_path):
    store = store_of(tmp_path, {"api_keys": [KEY], "dids": [
        {"id": "d1", "number_e164": "+15551230001"},
        {"id": "d2", "number_e164": "+15551230002", "status": "suspended",
         "route_mode": "reject", "customer_id": "cust_2", "created_at": "2025-05-05T00:00:00Z"}]})
    assert store.first_key() == "k" and store.customer_of("k") == "cust_1"
    assert store.customer_of("nope") is None
    filled = store.find_number("+15551230001")
    assert {k: filled[k] for k in ("customer_id", "status", "route_mode", "application_id",
                                   "provider", "created_at", "updated_at")} == {
        "customer_id": "cust_1", "status": "active", "route_mode": "webhook",
        "application_id": None, "provider": "didww", "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z"}
    given = store.find_number("+15551230002")  # what the file says is kept, not defaulted
    assert (given["status"], given["route_mode"], given["customer_id"], given["updated_at"]) == (
        "suspended", "reject", "cust_2", "2025-05-05T00:00:00Z")


def test_yaml_state_files_load(tmp_path):
    store = store_of(tmp_path, "api_keys:\n  - {key: k, customer_id: c}\ndids: []\n",
                     name="state.yaml")
    assert store.first_key() == "k"


def test_a_yaml_state_file_is_read_with_the_manifests_bounds(tmp_path):
    with pytest.raises(InputError, match="nested too deeply"):
        store_of(tmp_path, "[" * 100_000 + "]" * 100_000 + "\n", name="state.yaml")
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}" if i > 1 else "*a"] * 10) + "]\n"
        for i in range(1, 9))
    with pytest.raises(InputError, match="expand to too much"):
        store_of(tmp_path, bomb, name="state.yaml")


def test_a_hand_edit_made_before_a_save_wins_over_the_save(tmp_path):
    import asyncio
    import os

    from mvconf.emulator.store import SaveFailed

    store = store_of(tmp_path, {"api_keys": [KEY], "dids": [
        {"id": "d1", "number_e164": "+15551230001"}]})
    edited = json.loads(store.path.read_text())
    edited["dids"][0]["route_mode"] = "reject"
    store.path.write_text(json.dumps(edited))  # a person simulates drift
    os.utime(store.path, ns=(1, 1))
    store.update(store.dids["d1"], {"application_id": "app_9"})
    with pytest.raises(SaveFailed, match="edited on disk"):
        asyncio.run(store.commit())
    assert store.find_number("+15551230001")["route_mode"] == "reject"
    assert json.loads(store.path.read_text())["dids"][0]["route_mode"] == "reject"


def test_a_save_writes_through_a_symlink_and_keeps_the_files_permissions(tmp_path):
    import asyncio
    import os
    import stat

    real = tmp_path / "shared" / "state.json"
    real.parent.mkdir()
    real.write_text(json.dumps({"api_keys": [KEY], "dids": [
        {"id": "d1", "number_e164": "+15551230001"}]}))
    real.chmod(0o640)
    link = tmp_path / "state.json"
    link.symlink_to(real)
    store = Store(link)
    store.update(store.dids["d1"], {"route_mode": "reject"})
    asyncio.run(store.commit())
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert json.loads(real.read_text())["dids"][0]["route_mode"] == "reject"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
