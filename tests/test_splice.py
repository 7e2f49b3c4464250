"""splice: edits to a manifest's text at its nodes' positions; every other character kept."""

from __future__ import annotations

import pytest

from mvconf.core.errors import InputError
from mvconf.manifest.splice import ManifestText, find_entry, scalar_text

BLOCK = ('version: 1\ndids:\n  # desk\n  - number: "+15551230002"  # pinned\n'
         "    application: app_1\n    route_mode: forward\n    destinations:\n"
         "      - '+15551230009'\n    status: suspended\n")
FLOW = 'version: 1\ndids: [{number: "+15551230002", application: app_1, route_mode: webhook}]\n'


def test_a_value_is_replaced_in_its_own_style():
    doc = ManifestText(BLOCK, "m.yaml")
    entry = find_entry(doc, "+15551230002", 4)
    doc.set_key(entry, "application", "app_2")
    doc.set_key(entry, "destinations", ["+15551230007", "+15551230008"])
    assert doc.result() == BLOCK.replace("app_1", "app_2").replace(
        "      - '+15551230009'\n", "      - '+15551230007'\n      - '+15551230008'\n")


def test_a_dropped_key_takes_its_lines_and_a_new_key_keeps_the_comment_on_its_line():
    doc = ManifestText(BLOCK, "m.yaml")
    entry = doc.entries[0]
    doc.drop_key(entry, "destinations")
    doc.drop_key(entry, "status")
    doc.set_key(entry, "route_mode", "webhook")
    assert doc.result() == ('version: 1\ndids:\n  # desk\n  - number: "+15551230002"  # pinned\n'
                            "    application: app_1\n    route_mode: webhook\n")


def test_flow_entries_stay_flow_and_new_entries_follow_their_neighbour():
    doc = ManifestText(FLOW, "m.yaml")
    entry = doc.entries[0]
    doc.set_key(entry, "status", "suspended")
    doc.add_entry({"number": "+15551230003", "route_mode": "reject"})
    assert doc.result() == ('version: 1\ndids: [{number: "+15551230002", application: app_1, '
                            'route_mode: webhook, status: suspended}, '
                            '{number: "+15551230003", route_mode: reject}]\n')


def test_crlf_and_a_bom_are_kept():
    text = "\ufeff" + BLOCK.replace("\n", "\r\n")
    doc = ManifestText(text, "m.yaml")
    doc.add_entry({"number": "+15551230004", "route_mode": "reject"}, after=doc.entries[0])
    out = doc.result()
    assert out.startswith("\ufeff") and "\n" not in out.replace("\r\n", "")
    assert out.endswith('  - number: "+15551230004"\r\n    route_mode: reject\r\n')


def test_an_empty_dids_gets_its_first_entry():
    doc = ManifestText("version: 1\ndids: []\n", "m.yaml")
    doc.add_entry({"number": "+15551230004", "route_mode": "reject"})
    doc.add_entry({"number": "+15551230005", route_mode_key(): "reject"})
    assert doc.result() == ('version: 1\ndids:\n  - {number: "+15551230004", route_mode: '
                            'reject}\n  - {number: "+15551230005", route_mode: reject}\n')


def route_mode_key() -> str:
    return "route_mode"


def test_entries_added_where_a_key_is_dropped_do_not_meet_that_edit():
    doc = ManifestText(BLOCK, "m.yaml")
    entry = doc.entries[0]
    doc.drop_key(entry, "destinations")
    doc.drop_key(entry, "status")
    doc.set_key(entry, "route_mode", "webhook")
    doc.add_entry({"number": "+15551230004", "route_mode": "reject"})
    doc.add_entry({"number": "+15551230005", "route_mode": "reject"}, after=entry)
    assert doc.result().endswith("    route_mode: webhook\n"
                                 '  - number: "+15551230004"\n    route_mode: reject\n'
                                 '  - number: "+15551230005"\n    route_mode: reject\n')


def test_scalars_are_quoted_only_when_plain_would_read_back_otherwise():
    assert scalar_text("app_1") == "app_1"
    assert scalar_text("yes") == '"yes"' and scalar_text("+1555") == '"+1555"'
    assert scalar_text("it's", "'") == "'it''s'"


def test_not_a_manifest_mapping_is_a_clear_error():
    with pytest.raises(InputError, match="not a manifest mapping"):
        ManifestText("- a\n- b\n", "m.yaml")


def test_a_comment_beside_a_list_item_stays_with_its_value_and_only_with_it():
    text = ('version: 1\ndids:\n  - number: "+15551230002"\n    application: app_1\n'
            "    route_mode: forward\n    destinations:\n"
            '      - "+15551230009"   # Alice\n      - "+15551230008"   # Bob (backup)\n'
            "    status: active\n")
    doc = ManifestText(text, "m.yaml")
    doc.set_key(doc.entries[0], "destinations", ["+15551230007", "+15551230009"])
    after = doc.result()
    assert '      - "+15551230007"\n      - "+15551230009"   # Alice\n    status: active\n' \
        in after
    assert "Bob" not in after
