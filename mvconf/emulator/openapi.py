"""An OpenAPI 3 description of the MiniVoice API as mvconf knows it (SPEC §2, §10, §7).

Each operation says where it comes from in `x-mvconf-origin`: `documented` (the MiniVoice pages
in seeds/) or `ours` (mvconf's additions, which the emulator implements). The emulator serves it
at /openapi.json; `schemas/minivoice.openapi.json` is the same text (`make schema` writes it, a
test keeps them equal), and schemathesis fuzzes the emulator against it in `make test`.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from mvconf import __version__
from mvconf.core.facts import APP_ID_PATTERN, E164_PATTERN, ROUTE_MODES
from mvconf.emulator.checks import DESTINATION_PATTERN, MAX_DESTINATIONS, STATUSES
from mvconf.emulator.replies import Reply, ok

JSON = "application/json"
ERROR = {"$ref": "#/components/schemas/Error"}
DID = {"$ref": "#/components/schemas/Did"}
WHY = {
    "400": "The request is malformed (ours)", "401": "Missing or unknown API key",
    "403": "Not from this machine (ours)", "404": "Not found",
    "405": "Method not allowed (ours); Allow lists the methods", "409": "Conflict (ours)",
    "412": "If-Match does not match the DID's ETag (ours)",
    "413": "Request body too large (ours)",
    "429": "Rate limited (ours); see Retry-After: whole seconds to the next one-second window, or, "
           "with the emulator's --rate-burst (ours, a token bucket), the seconds to the next "
           "token with up to three decimals",
    "502": "The test call's webhook failed (ours)",
    "503": "Unavailable, or the change could not be saved (ours)",
}
HEADERS = {
    "405": {"Allow": {"schema": {"type": "string"}}},
    "429": {"Retry-After": {"schema": {"type": "string"}}},
}


def _errors(*codes: str) -> dict[str, Any]:
    answers = {}
    for code in codes:
        answer: dict[str, Any] = {"description": WHY[code],
                                  "content": {JSON: {"schema": ERROR}}}
        if code in HEADERS:
            answer["headers"] = HEADERS[code]
        answers[code] = answer
    return answers


def _did_answer(description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": DID}},
            "headers": {"ETag": {"description": "The DID's version (ours)",
                                 "schema": {"type": "string"}}}}


def _param(name: str, example: str, pattern: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "minLength": 1}
    if pattern:
        schema["pattern"] = pattern
    return {"name": name, "in": "path", "required": True, "schema": schema, "example": example}


def _body(ref: str) -> dict[str, Any]:
    return {"required": True, "content": {JSON: {"schema": {"$ref": ref}}}}


API = ("401", "405", "429", "503")
FIELDS = {
    "application_id": {"type": "string", "pattern": APP_ID_PATTERN, "maxLength": 128},
    "route_mode": {"type": "string", "enum": list(ROUTE_MODES)},
    "destinations": {"type": "array", "maxItems": MAX_DESTINATIONS,
                     "items": {"type": "string", "pattern": DESTINATION_PATTERN}},
}


def _paths() -> dict[str, Any]:
    # The examples are the documentation's own DID (seeds/).
    did_id, number = _param("id", "did_123"), _param("e164", "+15551230002", E164_PATTERN)
    secured = [{"bearer": []}]
    return {
        "/v1/dids/{id}": {
            "parameters": [did_id],
            "get": {"x-mvconf-origin": "documented", "security": secured,
                    "responses": {"200": _did_answer("The DID"), **_errors("404", *API)}},
            "patch": {"x-mvconf-origin": "ours", "security": secured,
                      "description": "Sets absolute values. With an If-Match header holding "
                      "the ETag of a read, only if the DID has not changed since (else 412).",
                      "requestBody": _body("#/components/schemas/DidPatch"),
                      "responses": {"200": _did_answer("The updated DID"),
                                    **_errors("400", "404", "412", "413", *API)}},
        },
        "/v1/dids/by-number/{e164}": {
            "parameters": [number],
            "get": {"x-mvconf-origin": "documented", "security": secured,
                    "responses": {"200": _did_answer("The DID"), **_errors("404", *API)}},
        },
        "/_account/dids": {
            "get": {"x-mvconf-origin": "ours", "responses": {
                "200": {"description": "Every DID", "content": {JSON: {"schema": {
                    "type": "object", "required": ["dids"],
                    "properties": {"dids": {"type": "array", "items": DID}}}}}},
                **_errors("403", "405")}},
        },
        "/_account/dids/{e164}": {
            "parameters": [number],
            "get": {"x-mvconf-origin": "ours", "responses": {
                "200": _did_answer("The DID"), **_errors("400", "403", "404", "405")}},
            "put": {"x-mvconf-origin": "ours",
                    "requestBody": _body("#/components/schemas/AccountDidPut"),
                    "responses": {"200": _did_answer("The DID as saved"),
                                  **_errors("400", "403", "405", "409", "413", "503")}},
            "patch": {"x-mvconf-origin": "ours",
                      "requestBody": _body("#/components/schemas/AccountDidPatch"),
                      "responses": {"200": _did_answer("The DID as saved"),
                                    **_errors("400", "403", "404", "405", "413", "503")}},
        },
        "/_account/calls": {
            "post": {"x-mvconf-origin": "ours",
                     "requestBody": _body("#/components/schemas/TestCall"),
                     "responses": {"201": {"description": "The call.completed event",
                                           "content": {JSON: {"schema": {"type": "object"}}}},
                                   **_errors("400", "403", "404", "405", "413", "502")}},
        },
    }


def _schemas() -> dict[str, Any]:
    text = {"type": "string"}
    return {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message"],
            "properties": {"code": text, "message": text}}}},
        "Did": {"type": "object", "x-mvconf-origin": "documented (destinations: ours)",
                "required": ["id", "customer_id", "application_id", "number_e164", "provider",
                             "status", "route_mode", "created_at", "updated_at"],
                "properties": {"id": text, "customer_id": text,
                               "application_id": {"type": "string", "nullable": True},
                               "number_e164": text, "provider": text, "status": text,
                               "route_mode": text, "created_at": text, "updated_at": text,
                               "destinations": {"type": "array", "items": text}}},
        "DidPatch": {"type": "object", "additionalProperties": False, "properties": FIELDS},
        "AccountDidPatch": {"type": "object", "additionalProperties": False, "properties": {
            **FIELDS, "status": {"type": "string", "enum": list(STATUSES)}}},
        "AccountDidPut": {"type": "object", "additionalProperties": False, "properties": {
            **FIELDS, "status": {"type": "string", "enum": list(STATUSES)},
            "id": {"type": "string", "pattern": r"^did_[A-Za-z0-9_-]{1,64}$"},
            "provider": {"type": "string", "pattern": r"^[\x21-\x7e]{1,128}$"}}},
        "TestCall": {"type": "object", "required": ["to"], "additionalProperties": False,
                     "properties": {"to": {"type": "string", "pattern": E164_PATTERN},
                                    "from": {"type": "string", "pattern": E164_PATTERN},
                                    "webhook_url": {
                                        "type": "string", "description": "An http(s) URL on "
                                        "this machine, unless the emulator was started with "
                                        "--allow-remote-webhooks"}}},
    }


@cache
def openapi_text() -> str:
    document = {
        "openapi": "3.0.3",
        "info": {"title": "MiniVoice API, as mvconf knows it", "version": __version__,
                 "description": "x-mvconf-origin marks what the MiniVoice documentation "
                 "describes (documented) and what mvconf adds and its emulator implements "
                 "(ours)."},
        "servers": [{"url": "https://api.minivoice.eu"}],
        "paths": _paths(),
        "components": {"schemas": _schemas(), "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "Authorization: Bearer <application API key>"}}},
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def openapi_reply() -> Reply:
    return ok(json.loads(openapi_text()))
