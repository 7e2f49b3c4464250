"""`mvconf verify-events`: every inbound call to a managed DID against its desired routing."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from mvconf.core.errors import InputError
from mvconf.core.phone import to_e164
from mvconf.manifest import DesiredDid
from mvconf.web.asgi import parse_json

WRONG = ("wrong_application", "not_rejected")


@dataclass(slots=True)
class Call:
    id: str
    application_id: str | None
    status: str | None
    first_at: str | None = None  # `created_at` of its earliest event (SPEC §17: when it began)


@dataclass
class Events:
    calls: dict[str, dict[str, Call]] = field(default_factory=lambda: defaultdict(dict))
    malformed: list[tuple[int, str]] = field(default_factory=list)
    ignored: int = 0


def read_events(text: str) -> Events:
    """JSON lines, or one JSON array. Malformed lines are noted with their number and skipped.

    Lines end at a newline only: U+2028, U+2029 and U+0085 may stand unescaped inside a JSON
    string (receive-events writes them so), and splitting there would turn one call into two
    malformed halves. A file is one JSON array when it parses whole as one; a first line that
    is an array by itself is a malformed record of a JSON-lines file."""
    events = Events()
    stripped = text.lstrip()
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    if stripped.startswith("["):
        try:
            items = parse_json(stripped.encode("utf-8", "surrogatepass"))
        except ValueError as exc:
            first = next(line for line in lines if line.strip())
            try:
                parse_json(first.encode("utf-8", "surrogatepass"))
            except ValueError:
                raise InputError("the events file looks like a JSON array but is not valid: "
                                 f"{exc}") from None
            return read_lines(lines, events)
        if not isinstance(items, list):
            raise InputError("the events file looks like a JSON array but is not one")
        for number, item in enumerate(items, 1):
            _take(events, number, item)
        return events
    return read_lines(lines, events)


def read_lines(lines: Iterable[str], events: Events, first: int = 1) -> Events:
    """JSON lines into `events` (numbered from `first`), as they are read from a growing file."""
    for number, line in enumerate(lines, first):  # each event is dropped once taken
        if not line.strip():
            continue
        try:
            item = parse_json(line.encode("utf-8", "surrogatepass"))
        except ValueError as exc:
            events.malformed.append((number, f"not JSON ({exc})"))
            continue
        _take(events, number, item)
    return events


def _take(events: Events, number: int, item: object) -> None:
    call = item.get("call") if isinstance(item, dict) else None
    if not isinstance(call, dict):
        events.malformed.append((number, "no 'call' object"))
        return
    if call.get("direction") != "inbound":
        events.ignored += 1
        return
    call_id, to = call.get("id"), call.get("to")
    if not isinstance(call_id, str | int) or not isinstance(to, str):
        events.malformed.append((number, "inbound call without 'id' or 'to'"))
        return
    e164 = to_e164(to)
    if e164 is None:
        events.malformed.append((number, f"'to' {to!r} is not a phone number"))
        return
    seen = events.calls[e164].get(str(call_id))
    status = call.get("status") if isinstance(call.get("status"), str) else None
    app = call.get("application_id") if isinstance(call.get("application_id"), str) else None
    at = item.get("created_at") if isinstance(item.get("created_at"), str) else None
    if seen is None:
        events.calls[e164][str(call_id)] = Call(str(call_id), app, status, at)
    else:  # several events for one call: keep what the later ones add
        seen.application_id = app or seen.application_id
        seen.status = status or seen.status
        seen.first_at = earliest(seen.first_at, at)


def moment(text: str | None) -> datetime | None:
    """An event's `created_at` as an aware time (UTC when it names no zone), or None."""
    if not text or len(text) > 64:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def earliest(one: str | None, other: str | None) -> str | None:
    first, second = moment(one), moment(other)
    if first is None or second is None:
        return one if first is not None else other
    return one if first <= second else other


def judge(did: DesiredDid, calls: list[Call]) -> tuple[str, dict]:
    """The verdict on one DID's calls: ok, wrong_application, not_rejected or untested."""
    if not calls:
        return "untested", {}
    if did.route_mode == "reject":
        through = [c for c in calls if c.status != "rejected"]
        if through:
            return "not_rejected", {"call_ids": [c.id for c in through],
                                    "statuses": sorted({c.status or "?" for c in through})}
        return "ok", {}
    wrong = [c for c in calls if did.application_id and c.application_id != did.application_id]
    if wrong:
        return "wrong_application", {"expected": did.application_id,
                                     "seen": sorted({c.application_id or "none" for c in wrong}),
                                     "wrong_call_ids": [c.id for c in wrong]}
    return "ok", {}


def verify(desired: list[DesiredDid], events: Events) -> dict:
    dids = []
    for did in desired:
        calls = list(events.calls.get(did.number, {}).values())
        status, extra = judge(did, calls)
        dids.append({"number": did.number, "status": status, "calls": len(calls),
                     "call_ids": [c.id for c in calls], "source": did.source, **extra})
    managed = {d.number for d in desired}
    unmanaged = [{"number": n, "calls": len(c)} for n, c in sorted(events.calls.items())
                 if n not in managed]
    summary = {s: sum(1 for d in dids if d["status"] == s)
               for s in ("ok", "wrong_application", "not_rejected", "untested")}
    summary["unmanaged"] = len(unmanaged)
    summary["malformed"] = len(events.malformed)
    return {"dids": dids, "unmanaged": unmanaged, "summary": summary,
            "malformed": [{"line": n, "problem": p} for n, p in events.malformed]}


def text_report(result: dict) -> list[tuple[str, str | None]]:
    lines: list[tuple[str, str | None]] = []
    marks = {"ok": ("ok", "green"), "untested": ("untested", "yellow"),
             "wrong_application": ("WRONG", "bold red"), "not_rejected": ("NOT REJECTED",
                                                                          "bold red")}
    for d in result["dids"]:
        word, style = marks[d["status"]]
        line = f"{word:>12}  {d['number']}  {d['calls']} call(s)"
        if d["status"] == "wrong_application":
            line += (f": expected {d['expected']}, saw {', '.join(d['seen'])} "
                     f"(calls {', '.join(d['wrong_call_ids'])})")
        elif d["status"] == "not_rejected":
            line += f": should be rejected, calls {', '.join(d['call_ids'])} reached an application"
        lines.append((line, style))
    for u in result["unmanaged"]:
        lines.append((f"   unmanaged  {u['number']}  {u['calls']} call(s) to a number no "
                      "manifest manages", "magenta"))
    for m in result["malformed"]:
        lines.append((f"     skipped  line {m['line']}: {m['problem']}", "dim"))
    s = result["summary"]
    lines.append((f"Events: {s['ok']} ok, {s['wrong_application']} wrong application, "
                  f"{s['not_rejected']} not rejected, {s['untested']} untested, "
                  f"{s['unmanaged']} unmanaged.", "bold"))
    return lines


def exit_code(result: dict) -> int:
    return 2 if any(d["status"] in WRONG for d in result["dids"]) else 0
