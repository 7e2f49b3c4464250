"""Sending requests over HTTP with httpx; its exceptions become TransportFailed."""

from __future__ import annotations

from typing import Any

import httpx

from mvconf.minivoice.client import Answer, TransportFailed


class HttpSender:
    def __init__(self, http: httpx.AsyncClient):
        self.http = http

    async def send(self, method: str, path: str, body: Any = None) -> Answer:
        try:
            response = await self.http.request(method, path, json=body)
        except httpx.TimeoutException:
            raise TransportFailed("the API did not answer in time") from None
        except httpx.TransportError as exc:
            raise TransportFailed(f"connection failed ({type(exc).__name__})") from None
        return Answer(response.status_code, response.headers, response.content)
