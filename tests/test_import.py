"""`mvconf import` (SPEC §12): always a valid manifest, ranges for runs, aliases, comments for
what cannot be written, and `--into`, which accepts drift into commented manifests."""

from __future__ import annotations

import datetime
import difflib
import json
import os
import time

import pytest

from .helpers import did

SOON = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()


def plan_summary(cli, path, state):
    result = cli("plan", path, "--emulator", state, "--format", "json")
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)["summary"]


def test_hundreds_of_contiguous_numbers_become_a_handful_of_ranges(cli, state_file, tmp_path):
    records = [did(f"+1555123{i:04d}", id=f"did_{i}", app="app_456" if i < 200 else "app_123",
                   mode="webhook" if i != 250 else "reject") for i in range(300)]
    state = state_file(records)
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("# the whole block\n" + "\n".join(r["number_e164"] for r in records)
                       + "\n\n")
    out = tmp_path / "imported.yaml"
    result = cli("import", "--from-file", numbers, "--emulator", state, "--out", out)
    assert result.code == 0, result.stderr
    text = out.read_text()
    assert text.count("- range:") == 3 and text.count("- number:") == 1
    assert cli("validate", out).code == 0
    assert plan_summary(cli, out, state) == {"noop": 300, "update": 0, "missing": 0,
                                             "blocked": 0, "conflict": 0}
    single = cli("import", "--from-file", numbers, "--emulator", state, "--no-ranges")
    assert single.stdout.count("- number:") == 300


def test_what_cannot_be_written_is_a_comment_and_exit_2(cli, state_file, tmp_path):
    state = state_file([
        did("+15551230001", mode="webhook", destinations=["+15551230009"]),
        did("+15551230002", mode="forward", destinations=["+15551230002"]),
        did("+15551230003", mode="forward", destinations=["+15551230009", "+15551230009"]),
        did("+15551230004", mode="answer_url"),
        did("+15551230005", mode="forward", destinations=["+15551230009"]),
    ])
    out = tmp_path / "imported.yaml"
    result = cli("import", "+15551230001", "+15551230002", "+15551230003", "+15551230004",
                 "+15551230005", "+15551230404", "--emulator", state, "--out", out)
    assert result.code == 2, result.stderr
    assert "+15551230404" in result.stderr and "404" in result.stderr
    for number in ("+15551230001", "+15551230002", "+15551230003", "+15551230004"):
        assert f"{number} (did_{number[1:]})" in result.stderr
    assert cli("validate", out).code == 0
    assert plan_summary(cli, out, state)["noop"] == 1


def test_aliases_of_the_project_manifests_are_used(cli, write, state_file, tmp_path,
                                                   monkeypatch):
    write("project/mvconf.toml", 'manifests = ["dids"]\n')
    write("project/dids/apps.yaml", "version: 1\napplications: {sales: app_456}\ndids: []\n")
    state = state_file([did("+15551230001", app="app_456")])
    monkeypatch.chdir(tmp_path / "project")
    result = cli("import", "+15551230001", "--emulator", state)
    assert result.code == 0, result.stderr
    assert "application: sales" in result.stdout and "sales: app_456" in result.stdout


COMMENTED = """\
# Numbers of the front office. Reviewed by ops.
version: 1
applications:
  sales: app_456   # the sales team
  support: app_123
dids:
  # The front desk
  - number: "+15551230002"
    application: support
    route_mode: webhook
  # A block for the campaign
  - range: "+15551230010..+15551230019"
    application: sales
    route_mode: webhook
  - number: "+15551230030"   # keep this note
    application: sales
    route_mode: reject
"""


def test_import_into_changes_only_the_drifted_lines_and_keeps_every_comment(cli, write,
                                                                           state_file):
    path = write("dids/main.yaml", COMMENTED)
    records = [did("+15551230002", app="app_123", mode="reject", id="did_2"),
               did("+15551230030", app="app_456", mode="reject", id="did_30")]
    records += [did(f"+155512300{i}", app="app_456", id=f"did_{i}") for i in range(10, 20)]
    records[5]["application_id"] = "app_123"  # +15551230013 drifted inside the range
    state = state_file(records)
    result = cli("import", "--into", path.parent, "--emulator", state)
    assert result.code == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"updated +15551230002 at {path}:8",
        f"overrode +15551230013 below its range at {path}:12"]
    after = path.read_text()
    for line in COMMENTED.splitlines():
        if line.strip().startswith("#") or "#" in line:
            assert line in after, line  # every comment kept, on its line
    delta = list(difflib.ndiff(COMMENTED.splitlines(), after.splitlines()))
    assert [d for d in delta if d.startswith("- ")] == ["-     route_mode: webhook"]
    assert [d for d in delta if d.startswith("+ ")] == [
        "+     route_mode: reject", '+   - number: "+15551230013"',
        "+     application: support", "+     route_mode: webhook"]
    assert plan_summary(cli, path.parent, state) == {"noop": 12, "update": 0, "missing": 0,
                                                     "blocked": 0, "conflict": 0}
    again = cli("import", "--into", path.parent, "--emulator", state)
    assert again.code == 0 and again.stdout == "" and path.read_text() == after


README_ENTRIES = {
    "desk": """\
  # The front desk
  - number: "+15551230002"
    application: support
    route_mode: webhook   # the bot
""",
    "range": """\
  - range: "+15551230010..+15551230019"
    application: sales
    route_mode: webhook
""",
}
HEADER = "version: 1\napplications: {support: app_123, sales: app_456}\ndids:\n"


def _readme_state(state_file):
    records = [did("+15551230002", app="app_123", mode="reject", id="did_2")]
    records += [did(f"+155512300{i}", app="app_456", id=f"did_{i}") for i in range(10, 20)]
    records[4]["application_id"] = "app_123"  # +15551230013 drifted inside the range
    return state_file(records)


@pytest.mark.parametrize("order", [("desk", "range"), ("range", "desk")])
def test_the_readme_example_in_either_order(cli, write, state_file, order):
    text = HEADER + "".join(README_ENTRIES[k] for k in order)
    path = write("dids/main.yaml", text)
    state = _readme_state(state_file)
    result = cli("import", "--into", path.parent, "--emulator", state)
    assert result.code == 0, result.stderr
    after = path.read_text()
    desk = after.index("  # The front desk\n")
    assert after[desk:].startswith('  # The front desk\n  - number: "+15551230002"\n'
                                   "    application: support\n"
                                   "    route_mode: reject   # the bot\n")
    override = ('  - number: "+15551230013"\n    application: support\n'
                "    route_mode: webhook\n")
    assert after.index(README_ENTRIES["range"]) < after.index(override)
    assert after.count("+15551230002") == 1 and after.count("+15551230013") == 1
    assert plan_summary(cli, path.parent, state)["update"] == 0
    assert sorted(result.stdout.splitlines()) == sorted([
        f"updated +15551230002 at {path}:{text[:text.index('- number')].count(chr(10)) + 1}",
        f"overrode +15551230013 below its range at "
        f"{path}:{text[:text.index('- range')].count(chr(10)) + 1}"])


def test_three_hundred_drifted_dids_leave_a_clean_plan(cli, write, state_file):
    lines = [HEADER.replace("dids:\n", "defaults: {application: sales}\ndids:\n")]
    records = []
    for i in range(300):
        number = f"+1555124{i:04d}"
        if i % 3 == 0:
            lines.append(f'  - {{number: "{number}", route_mode: forward, destinations: '
                         f'["+1555999{i:04d}"]}}  # line {i}\n')
        else:
            lines.append(f'  # note {i}\n  - number: "{number}"\n    route_mode: webhook\n')
        mode, dests = [("reject", None), ("forward", [f"+1555888{i:04d}"]),
                       ("webhook", None)][i % 3]
        records.append(did(number, app="app_123" if i % 5 == 0 else "app_456", mode=mode,
                           destinations=dests, id=f"did_{i}"))
    path = write("dids/main.yaml", "".join(lines))
    state = state_file(records)
    result = cli("import", "--into", path.parent, "--emulator", state)
    assert result.code == 0, result.stderr
    assert plan_summary(cli, path.parent, state) == {"noop": 300, "update": 0, "missing": 0,
                                                     "blocked": 0, "conflict": 0}
    after = path.read_text()
    for i in range(300):
        assert (f"# line {i}\n" in after) if i % 3 == 0 else (f"  # note {i}\n" in after)
    assert after.splitlines()[4].startswith("  - {number:")  # a flow entry stays flow


def test_the_file_keeps_its_mode_symlink_and_line_endings(cli, tmp_path, state_file):
    real = tmp_path / "real.yaml"
    real.write_bytes(b'version: 1\r\ndids:\r\n  # desk\r\n  - number: "+15551230002"\r\n'
                     b'    application: app_123\r\n    route_mode: webhook\r\n'
                     b'  - number: "+15551230003"\r\n    application: app_123\r\n'
                     b'    route_mode: webhook\r\n')
    real.chmod(0o640)
    (tmp_path / "dids").mkdir()
    link = tmp_path / "dids" / "main.yaml"
    link.symlink_to(real)
    state = state_file([did("+15551230002", mode="reject"), did("+15551230003")])
    result = cli("import", "--into", link.parent, "--emulator", state)
    assert result.code == 0, result.stderr
    assert link.is_symlink() and oct(real.stat().st_mode & 0o777) == "0o640"
    assert real.read_bytes().count(b"\r\n") == 9 and b"route_mode: reject\r\n" in \
        real.read_bytes()
    assert real.read_bytes().replace(b"reject", b"webhook", 1).count(b"\n") == 9


def test_a_read_only_manifest_is_not_rewritten(cli, write, state_file):
    path = write("dids/main.yaml", HEADER + README_ENTRIES["desk"])
    path.chmod(0o444)
    before = path.read_text()
    result = cli("import", "--into", path.parent, "--emulator",
                 _readme_state(state_file))
    assert result.code == 1 and "read-only" in result.stderr and path.read_text() == before


def test_an_edit_made_during_the_read_is_not_lost(write, state_file, monkeypatch):
    from mvconf.adopt.merge import accept_drift
    from mvconf.core.errors import InputError
    from mvconf.manifest import Scope
    from mvconf.minivoice.models import LiveDID

    path = write("dids/main.yaml", HEADER + README_ENTRIES["desk"])
    edited = path.read_text().replace("# The front desk", "# The front desk (edited)")

    def read(numbers):
        path.write_text(edited)  # someone saves the file while the account is read
        return {"+15551230002": LiveDID(id="did_2", number_e164="+15551230002",
                                        application_id="app_123", route_mode="reject",
                                        status="active")}

    with pytest.raises(InputError, match="changed while the account was being read"):
        accept_drift(read, str(path.parent), [], Scope(), lambda *a, **k: None)
    assert path.read_text() == edited


@pytest.mark.skipif(not os.path.exists("/proc/locks"), reason="needs Linux's /proc/locks")
def test_two_runs_at_once_never_both_write(write, tmp_path):
    # The second run's check and write happen while the first holds the file's lock; the
    # first, waiting, then finds the file replaced, and refuses instead of overwriting it.
    import fcntl
    import threading

    from mvconf.adopt.merge import accept_drift
    from mvconf.core.errors import InputError
    from mvconf.core.files import write_output
    from mvconf.manifest import Scope
    from mvconf.minivoice.models import LiveDID

    path = write("dids/main.yaml", HEADER + README_ENTRIES["desk"])
    edited = path.read_text().replace("# The front desk", "# The front desk (the other run)")
    live = {"+15551230002": LiveDID(id="did_2", number_e164="+15551230002",
                                    application_id="app_123", route_mode="reject",
                                    status="active")}
    failed = []

    def first_run():
        try:
            accept_drift(lambda numbers: live, str(path.parent), [], Scope(),
                         lambda *a, **k: None)
        except InputError as exc:
            failed.append(str(exc))

    with open(path, "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # the other run, between its check and its write
        runner = threading.Thread(target=first_run)
        runner.start()
        deadline = time.monotonic() + 60
        waiting = f" {os.getpid()} "  # a lock waiter of this process: the first run
        while time.monotonic() < deadline and runner.is_alive() and not any(
                "->" in line and waiting in line for line in open("/proc/locks")):
            time.sleep(0.01)
        write_output(str(path), edited)
    runner.join(60)
    assert failed and "changed while the account was being read" in failed[0]
    assert path.read_text() == edited


ENV_PROJECT = ('manifests = ["dids"]\n[environments.staging]\n'
               'applications = { desk = "app_s1", sales = "app_s2" }\nemulator = "staging.json"\n'
               '[environments.production]\n'
               'applications = { desk = "app_p1", sales = "app_p2" }\nemulator = "prod.json"\n')


def test_drift_in_one_environment_never_changes_another(cli, write, state_file, tmp_path,
                                                        monkeypatch):
    monkeypatch.chdir(tmp_path)
    write("mvconf.toml", ENV_PROJECT)
    shared = write("dids/shared.yaml", 'version: 1\ndids:\n  - number: "+15551230002"\n'
                   "    application: desk\n    route_mode: webhook\n"
                   '  - range: "+15551230010..+15551230012"\n    application: desk\n'
                   "    route_mode: webhook\n")
    state_file([did("+15551230002", app="app_p1", id="p2")] +
               [did(f"+155512300{i}", app="app_p1", id=f"p{i}") for i in (10, 11, 12)],
               name="prod.json")
    state_file([did("+15551230002", app="app_s2", id="s2"),
                did("+15551230010", app="app_s1", id="s10"),
                did("+15551230011", app="app_s2", id="s11"),
                did("+15551230012", app="app_s1", id="s12"),
                did("+15551230099", app="app_s1", id="s99")], name="staging.json")
    result = cli("import", "+15551230002", "+15551230011", "+15551230099", "--into", "dids",
                 "--env", "staging")
    assert result.code == 2  # the shared entry is left, and says why
    assert "also used by environment(s) production" in result.stderr
    text = shared.read_text()
    assert 'environments: [staging]' in text and text.count("+15551230011") == 1
    assert "environments: [staging]" in (tmp_path / "dids" / "imported.yaml").read_text()
    production = cli("plan", "--env", "production", "--format", "json")
    assert production.code == 0, production.stderr
    assert json.loads(production.stdout)["summary"]["noop"] == 4


def test_several_new_numbers_go_into_a_new_file_in_block_style(cli, write, state_file):
    path = write("dids/a.yaml", HEADER + README_ENTRIES["desk"])
    state = state_file([did("+15551230002", app="app_123"), did("+15551230003"),
                        did("+15551230004", mode="reject")])
    result = cli("import", "+15551230003", "+15551230004", "--into", path.parent,
                 "--emulator", state)
    assert result.code == 0, result.stderr
    imported = (path.parent / "imported.yaml").read_text()
    assert imported.count("\n  - {number:") == 2
    assert plan_summary(cli, path.parent, state)["update"] == 0


def test_a_pinned_id_that_changed_is_named_and_left(cli, write, state_file):
    path = write("dids/a.yaml", HEADER + '  - {number: "+15551230002", application: support, '
                 'route_mode: webhook, id: did_old}\n')
    before = path.read_text()
    state = state_file([did("+15551230002", app="app_456", id="did_new")])
    result = cli("import", "--into", path.parent, "--emulator", state)
    assert result.code == 2 and "pins id did_old but the live DID is did_new" in result.stderr
    assert path.read_text() == before


def test_a_byte_order_mark_is_kept(cli, write, state_file):
    path = write("dids/a.yaml", HEADER + README_ENTRIES["desk"])
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    state = state_file([did("+15551230002", app="app_123", mode="reject")])
    assert cli("import", "--into", path.parent, "--emulator", state).code == 0
    assert path.read_bytes().startswith(b"\xef\xbb\xbfversion: 1\n")


def test_live_routing_the_policy_refuses_is_never_written(cli, write, state_file, tmp_path):
    # Accepting drift must not accept a toll-fraud re-route: such DIDs stay as they are written
    # (import --into) or become comments (import), named, exit 2; the manifests stay valid.
    premium = ["+449012345678"]
    path = write("m.yaml", 'version: 1\ndids:\n  - number: "+15551230002"\n    application: '
                 'app_1\n    route_mode: webhook\n  - number: "+15551230003"\n    application: '
                 'app_1\n    route_mode: webhook\n')
    before = path.read_text()
    state = state_file([did("+15551230002", app="app_1", mode="forward", destinations=premium),
                        did("+15551230003", app="app_1", mode="sip",
                            destinations=["sip:911@pbx.example.com"])])
    into = cli("import", "--into", path, "--emulator", state)
    assert into.code == 2 and path.read_text() == before
    assert "+15551230002: cannot be written: its live routing breaks the routing policy " \
           "(MV101" in into.stderr and "(MV102" in into.stderr
    out = tmp_path / "new.yaml"
    new = cli("import", "+15551230002", "+15551230003", "--emulator", state, "--out", out)
    assert new.code == 2 and new.stderr.count("breaks the routing policy") == 2
    assert cli("validate", out).code == 0 and "- number" not in out.read_text()


def test_a_forwarding_loop_in_the_account_is_imported_without_the_loop(cli, state_file, tmp_path):
    state = state_file([did("+15551230022", app="app_1", mode="forward",
                            destinations=["+15551230023"]),
                        did("+15551230023", app="app_1", mode="forward",
                            destinations=["+15551230022"])])
    out = tmp_path / "loop.yaml"
    result = cli("import", "+15551230022", "+15551230023", "--emulator", state, "--out", out)
    assert result.code == 2 and "part of a forwarding loop" in result.stderr
    assert cli("validate", out).code == 0 and out.read_text().count("- number") == 1


def test_an_override_of_a_range_keeps_the_ranges_policy_exceptions(cli, write, state_file,
                                                                  monkeypatch):
    project = write("p/mvconf.toml", '[policy]\nallowed_countries = ["US"]\n').parent
    path = write("p/dids/a.yaml", 'version: 1\ndids:\n  - range: "+15551230010..+15551230014"\n'
                 "    application: app_1\n    route_mode: forward\n"
                 '    destinations: ["+442071838750"]\n    policy_exceptions:\n'
                 f'      - {{rule: MV103, reason: "UK office", expires: {SOON}}}\n')
    state = state_file([did(f"+155512300{i}", app="app_2" if i == 12 else "app_1",
                            mode="forward", destinations=["+442071838750"])
                        for i in range(10, 15)])
    monkeypatch.chdir(project)
    assert cli("validate", "dids").code == 0
    result = cli("import", "--into", "dids", "--emulator", state)
    assert result.code == 0, result.stderr
    assert "overrode +15551230012" in result.stdout
    assert cli("validate", "dids").code == 0, path.read_text()


def test_a_number_list_with_a_bom_reads_and_every_bad_line_is_named(cli, state_file, tmp_path):
    state = state_file([did("+15551230002", app="app_1")])
    good = tmp_path / "good.txt"
    good.write_bytes(b"\xef\xbb\xbf+15551230002\n")
    assert cli("import", "--from-file", good, "--emulator", state).code == 0
    bad = tmp_path / "bad.txt"
    bad.write_text("+15551230002\n+1555\n# a comment\nabc\n")
    result = cli("import", "--from-file", bad, "--emulator", state)
    assert result.code == 1
    assert f"{bad}:2: number '+1555'" in result.stderr and f"{bad}:4: number 'abc'" in \
        result.stderr


def test_import_into_leaves_out_the_did_that_would_close_a_loop_and_writes_the_rest(
        cli, write, state_file):
    path = write("dids/main.yaml", 'version: 1\ndids:\n  - number: "+15551230005"\n'
                 "    application: app_1\n    route_mode: webhook\n"
                 '  - number: "+15551230004"\n    application: app_1\n    route_mode: webhook\n')
    state = state_file([did("+15551230005", app="app_1", mode="reject"),
                        did("+15551230003", app="app_1", mode="forward",
                            destinations=["+15551230004"]),
                        did("+15551230004", app="app_1", mode="forward",
                            destinations=["+15551230003"])])
    result = cli("import", "--into", path.parent, "+15551230003", "+15551230004",
                 "+15551230005", "--emulator", state)
    assert result.code == 2, result.stderr
    assert "would make a forwarding loop" in result.stderr
    assert "updated +15551230005" in result.stdout
    assert cli("validate", path.parent).code == 0
