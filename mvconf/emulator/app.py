"""The emulator's ASGI app: the documented MiniVoice DID endpoints plus our additions (SPEC §2, §7).

Documented: GET /v1/dids/{id}, GET /v1/dids/by-number/{e164}, the error envelope, 401 and 404.
Ours: PATCH /v1/dids/{id}, 405 for read-only accounts, 429 and 503 from fault injection, and the
/_account/ routes that stand in for the person using the MiniVoice account setup.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mvconf.emulator.faults import Faults
from mvconf.emulator.store import Store

ROUTE_MODES = {"webhook", "reject", "forward", "sip"}
PATCHABLE = {"application_id", "route_mode", "destinations"}
ACCOUNT_PATCHABLE = PATCHABLE | {"status"}
APP_ID = re.compile(r"^app_[A-Za-z0-9_-]+$")
MAX_BODY = 64 * 1024


def error(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status, headers=headers)


def _is_loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    if host in ("localhost", "testclient"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def _json_body(request: Request) -> dict | Response:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        return error(413, "payload_too_large", "Request body is too large")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return error(400, "invalid_request", "Request body must be a JSON object")
    if not isinstance(body, dict):
        return error(400, "invalid_request", "Request body must be a JSON object")
    return body


def _field_problem(name: str, value: Any) -> str | None:
    if name == "route_mode" and value not in ROUTE_MODES:
        return f"route_mode must be one of {', '.join(sorted(ROUTE_MODES))}"
    if name == "application_id" and not (isinstance(value, str) and APP_ID.match(value)):
        return "application_id must be an application id such as app_123"
    if name == "destinations" and not (
        isinstance(value, list) and all(isinstance(v, str) and v for v in value)
    ):
        return "destinations must be a list of strings"
    if name == "status" and value not in ("active", "inactive", "suspended", "pending"):
        return "status must be active, inactive, suspended or pending"
    return None


def _changes(body: dict, allowed: set[str]) -> dict | Response:
    unknown = sorted(set(body) - allowed)
    if unknown:
        return error(400, "invalid_request", f"Unknown field(s): {', '.join(unknown)}")
    for name, value in body.items():
        problem = _field_problem(name, value)
        if problem:
            return error(400, "invalid_request", problem)
    return body


def create_app(store: Store, faults: Faults | None = None, read_only: bool = False) -> Starlette:
    faults = faults or Faults()

    async def gate(request: Request) -> tuple[str | None, Response | None]:
        """Faults first (they act before anything is done), then the API key."""
        await faults.delay()
        wait = faults.rate_limited()
        if wait is not None:
            return None, error(429, "rate_limited", "Too many requests",
                               headers={"Retry-After": str(wait)})
        if faults.should_fail():
            return None, error(503, "service_unavailable", "Service temporarily unavailable")
        auth = request.headers.get("authorization", "")
        key = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        customer = store.customer_of(key)
        if customer is None:
            return None, error(401, "unauthorized", "Invalid or missing API key")
        return customer, None

    def visible(record: dict | None, customer: str) -> dict | None:
        return record if record is not None and record.get("customer_id") == customer else None

    async def get_by_id(request: Request) -> Response:
        customer, refused = await gate(request)
        if refused:
            return refused
        record = visible(store.dids.get(request.path_params["did_id"]), customer)
        return JSONResponse(record) if record else error(404, "not_found", "DID not found")

    async def get_by_number(request: Request) -> Response:
        customer, refused = await gate(request)
        if refused:
            return refused
        record = visible(store.find_number(request.path_params["number"]), customer)
        return JSONResponse(record) if record else error(404, "not_found", "DID not found")

    async def patch(request: Request) -> Response:
        customer, refused = await gate(request)
        if refused:
            return refused
        record = visible(store.dids.get(request.path_params["did_id"]), customer)
        if record is None:
            return error(404, "not_found", "DID not found")
        if read_only:
            return error(405, "method_not_allowed", "API writes are not enabled for this account")
        refusal = store.write_errors.get(record["id"])
        if refusal:  # fault injection from the state file: this DID refuses API writes
            return error(int(refusal.get("status", 403)), str(refusal.get("code", "forbidden")),
                         str(refusal.get("message", "This DID cannot be changed")))
        body = await _json_body(request)
        if isinstance(body, Response):
            return body
        changes = _changes(body, PATCHABLE)
        if isinstance(changes, Response):
            return changes
        return JSONResponse(store.update(record, changes))

    async def api_fallback(request: Request) -> Response:
        _, refused = await gate(request)
        return refused or error(404, "not_found", "Not found")

    async def account_did(request: Request) -> Response:
        if not _is_loopback(request):
            return error(403, "forbidden", "The account setup is served to loopback only")
        number = request.path_params["number"]
        if request.method == "GET":
            record = store.find_number(number)
            return JSONResponse(record) if record else error(404, "not_found", "DID not found")
        body = await _json_body(request)
        if isinstance(body, Response):
            return body
        if request.method == "PUT":
            checked = _changes({k: v for k, v in body.items() if k in ACCOUNT_PATCHABLE},
                               ACCOUNT_PATCHABLE)
            if isinstance(checked, Response):
                return checked
            return JSONResponse(store.put(number, body))
        record = store.find_number(number)
        if record is None:
            return error(404, "not_found", "DID not found")
        changes = _changes(body, ACCOUNT_PATCHABLE)
        if isinstance(changes, Response):
            return changes
        return JSONResponse(store.update(record, changes))

    async def account_list(request: Request) -> Response:
        if not _is_loopback(request):
            return error(403, "forbidden", "The account setup is served to loopback only")
        return JSONResponse({"dids": list(store.dids.values())})

    routes = [
        Route("/v1/dids/by-number/{number}", get_by_number, methods=["GET"]),
        Route("/v1/dids/{did_id}", get_by_id, methods=["GET"]),
        Route("/v1/dids/{did_id}", patch, methods=["PATCH"]),
        Route("/v1/{rest:path}", api_fallback, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        Route("/_account/dids", account_list, methods=["GET"]),
        Route("/_account/dids/{number}", account_did, methods=["GET", "PUT", "PATCH"]),
    ]
    app = Starlette(routes=routes)
    app.state.store = store
    return app
