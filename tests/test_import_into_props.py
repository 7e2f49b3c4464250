"""`import --into` as a transformation with stated invariants, searched by hypothesis over
generated manifests (ranges, overrides, defaults, aliases, comments above and beside entries,
flow and block styles, quoting, CRLF, several files, any order) and generated drift on any
subset of DIDs, inside and outside ranges:

1. afterwards every DID that was read is what the account holds (the next plan is all noop);
2. every line that is not part of a changed entry is kept, byte for byte, in order;
3. within a changed entry, a key whose value did not drift keeps its exact text, and a flow
   entry or flow list stays flow;
4. each comment above an entry is still directly above that entry;
5. nothing else changes meaning: every DID not read wants what it wanted before.
"""

from __future__ import annotations

import warnings

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import nodes

from mvconf.adopt.merge import accept_drift
from mvconf.manifest import Scope, load_manifests
from mvconf.minivoice.models import LiveDID
from mvconf.plan.planner import desired_fields, matches

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from ruamel.yaml import CSafeLoader

APPS = ["app_100", "app_200", "app_300"]
ALIASES = {"front": "app_100", "sales": "app_200"}
FORWARD = ["+15559990001", "+15559990002", "+442071838750"]
SIP = ["sip:desk@pbx.example.com", "sip:line2@pbx.example.com"]


@st.composite
def routing(draw):
    mode = draw(st.sampled_from(["webhook", "reject", "forward", "sip"]))
    dests: list[str] = []
    if mode == "forward":
        dests = draw(st.lists(st.sampled_from(FORWARD), min_size=1, max_size=2, unique=True))
    elif mode == "sip":
        dests = draw(st.lists(st.sampled_from(SIP), min_size=1, max_size=2, unique=True))
    return mode, dests


@st.composite
def entry_text(draw, key: str, value: str, nl: str):
    """One entry of `dids`, with its comment above and maybe one beside it."""
    app = draw(st.sampled_from(APPS + list(ALIASES)))
    mode, dests = draw(routing())
    flow = draw(st.booleans())
    quote = draw(st.sampled_from(['"', "'"]))
    status = draw(st.sampled_from([None, None, "suspended"]))
    pairs = [(key, f"{quote}{value}{quote}"), ("application", app), ("route_mode", mode)]
    if dests:
        pairs.append(("destinations", dests))
    if status:
        pairs.append(("status", status))
    comment = f"  # about {value}{nl}" if draw(st.booleans()) else ""
    beside = "  # beside" if draw(st.booleans()) else ""
    if flow:
        body = ", ".join(f"{k}: {_flow(v)}" for k, v in pairs)
        return comment + f"  - {{{body}}}{beside}{nl}"
    lines = []
    for i, (k, v) in enumerate(pairs):
        lead = "  - " if i == 0 else "    "
        if isinstance(v, list) and draw(st.booleans()):
            lines.append(f"{lead}{k}:{nl}" + "".join(f'      - "{d}"{nl}' for d in v))
        else:
            lines.append(f"{lead}{k}: {_flow(v)}" + (beside if i == 1 else "") + nl)
    return comment + "".join(lines)


def _flow(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(f'"{d}"' for d in value) + "]"
    return value


@st.composite
def project(draw):
    """Up to two files of entries in any order: numbers, ranges, and overrides in ranges."""
    nl = draw(st.sampled_from(["\n", "\n", "\r\n"]))
    base = 15551230000
    files = {}
    used: set[int] = set()
    for f in range(draw(st.integers(1, 2))):
        entries = []
        for _ in range(draw(st.integers(1, 5))):
            start = base + draw(st.integers(0, 60)) * 10
            if any(start <= u < start + 10 for u in used):
                continue
            if draw(st.booleans()):
                size = draw(st.integers(2, 6))
                for n in range(start, start + size):
                    used.add(n)
                entries.append(draw(entry_text("range", f"+{start}..+{start + size - 1}", nl)))
                if draw(st.booleans()):  # an override inside the range, maybe before it
                    inner = f"+{start + draw(st.integers(0, size - 1))}"
                    override = draw(entry_text("number", inner, nl))
                    at = draw(st.integers(0, len(entries)))
                    entries.insert(at, override)
            else:
                used.add(start)
                entries.append(draw(entry_text("number", f"+{start}", nl)))
        if not entries:
            start = base + 700 + f
            used.add(start)
            entries.append(draw(entry_text("number", f"+{start}", nl)))
        header = f"version: 1{nl}"
        if f == 0:
            header += f"applications:{nl}" + "".join(
                f"  {a}: {i}{nl}" for a, i in ALIASES.items())
        if draw(st.booleans()):
            header += f"defaults: {{route_mode: webhook, application: app_300}}{nl}"
        files[f"m{f}.yaml"] = header + f"# the numbers{nl}dids:{nl}" + "".join(entries)
    return files


@st.composite
def drift(draw, numbers: list[str]):
    """New live values for any subset of the managed numbers."""
    changed = {}
    for number in draw(st.lists(st.sampled_from(numbers), unique=True, max_size=len(numbers))):
        mode, dests = draw(routing())
        changed[number] = {
            "application_id": draw(st.sampled_from(APPS)), "route_mode": mode,
            "destinations": dests, "status": draw(st.sampled_from(["active", "suspended"]))}
    return changed


def _live(desired) -> dict:
    return {"application_id": desired.application_id or "app_100",
            "route_mode": desired.route_mode, "destinations": list(desired.destinations),
            "status": desired.status}


def _entry_spans(text: str) -> dict[str, tuple[int, int, nodes.Node]]:
    """number or range -> (first line, last line, node) of its entry, 0-based."""
    root = CSafeLoader(text).get_single_node()
    seq = next(v for k, v in root.value if k.value == "dids")
    spans = {}
    for item in seq.value:
        keys = {k.value: v for k, v in item.value}
        ident = (keys.get("number") or keys["range"]).value
        last = max(v.end_mark.line - (1 if v.end_mark.column == 0 else 0)
                   for _, v in item.value)
        spans[ident] = (item.start_mark.line, last, item)
    return spans


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_import_into_keeps_its_invariants(tmp_path_factory, data):
    root = tmp_path_factory.mktemp("p")
    files = data.draw(project())
    for name, text in files.items():
        (root / name).write_bytes(text.encode())
    before = {d.number: d for d in load_manifests([str(root)]).dids}
    changed = data.draw(drift(sorted(before)))
    live = {}
    for number, desired in before.items():
        values = changed.get(number, _live(desired))
        live[number] = LiveDID(id=f"did_{number[1:]}", number_e164=number, **values)
    read_log = []

    def read(numbers):
        read_log.append(list(numbers))
        return {n: live.get(n) for n in numbers}

    out = []
    code = accept_drift(read, str(root), [], Scope(), lambda m, err=False: out.append(m))
    assert code == 0
    after = {d.number: d for d in load_manifests([str(root)]).dids}
    # 1 and 5: every DID read is now what the account holds; nothing else means anything new
    assert set(after) == set(before)
    for number, did in live.items():
        assert matches(desired_fields(after[number]), did), (number, out)
    drifted = {n for n in changed if not matches(desired_fields(before[n]), live[n])}
    assert len(out) == len(drifted)
    for name, old in files.items():
        new = (root / name).read_bytes().decode()
        old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
        spans = _entry_spans(old)
        touched = set()
        for ident, (first, last, _) in spans.items():
            if ident in drifted:
                touched.update(range(first, last + 1))
        # 2: lines outside changed entries are kept, byte for byte, in order
        at = 0
        for number, line in enumerate(old_lines):  # a subsequence of the new lines, in order
            if number in touched:
                continue
            while at < len(new_lines) and new_lines[at] != line:
                at += 1
            assert at < len(new_lines), (number, line, old, new)
            at += 1
        # 3: a key that did not drift keeps its text; flow stays flow
        new_spans = _entry_spans(new)
        for ident, (_, _, node) in spans.items():
            if ident not in new_spans:
                continue
            new_node = new_spans[ident][2]
            assert bool(node.flow_style) == bool(new_node.flow_style)
            new_keys = {k.value: v for k, v in new_node.value}
            for key, value in node.value:
                kept = new_keys.get(key.value)
                if kept is None:
                    continue
                same_meaning = _meaning(value) == _meaning(kept)
                if same_meaning:
                    assert _text(old, value) == _text(new, kept)
                if isinstance(value, nodes.SequenceNode):
                    assert bool(value.flow_style) == bool(kept.flow_style)
        # 4: a comment above an entry is still directly above it
        for ident, (first, _, _) in spans.items():
            if first and old_lines[first - 1].lstrip().startswith("# about"):
                line = new_spans[ident][0]
                assert new_lines[line - 1] == old_lines[first - 1]


def _text(text: str, node: nodes.Node) -> str:
    """A value's own text: a scalar's or flow list's span, a block list's items' spans."""
    if isinstance(node, nodes.SequenceNode) and not node.flow_style:
        return "|".join(_text(text, item) for item in node.value)
    return text[node.start_mark.index:node.end_mark.index]


def _meaning(node: nodes.Node):
    if isinstance(node, nodes.SequenceNode):
        return [n.value for n in node.value]
    return node.value
