"""The Sender seam (minivoice/transport.py) and its two senders: HttpSender over httpx, given a
MockTransport here, and DirectSender (h11 over asyncio streams), given a small local server."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket

import httpx
import pytest

from mvconf.minivoice.direct import DirectSender
from mvconf.minivoice.http import HttpSender
from mvconf.minivoice.transport import AnswerRefused, AnswerTooLarge, TransportFailed


def http_sender(handler, **options) -> HttpSender:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler),
                               base_url="https://api.example.test/v1",
                               headers={"authorization": "Bearer k"})
    return HttpSender(client, **options)


def send(sender, *args, **kwargs):
    return asyncio.run(sender.send(*args, **kwargs))


def test_http_sends_method_path_json_and_headers_and_answers_the_raw_body():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, headers={"ETag": '"v2"'}, content=b'{"id": "did_1"}')

    answer = send(http_sender(handler), "PATCH", "/dids/did_1", {"status": "active"},
                  {"If-Match": '"v1"'})
    assert (answer.status, answer.headers["etag"], answer.content) == (201, '"v2"',
                                                                      b'{"id": "did_1"}')
    request, = seen
    assert (request.method, str(request.url)) == ("PATCH", "https://api.example.test/v1/dids/did_1")
    assert json.loads(request.content) == {"status": "active"}
    assert request.headers["if-match"] == '"v1"' and request.headers["authorization"] == "Bearer k"


def test_http_refuses_a_compressed_answer_rather_than_inflate_it():
    def handler(request):
        return httpx.Response(200, headers={"Content-Encoding": "gzip"},
                              content=gzip.compress(b"{}" * 1000))

    with pytest.raises(AnswerRefused):
        send(http_sender(handler), "GET", "/dids")


def test_http_refuses_an_answer_declared_larger_than_it_holds():
    with pytest.raises(AnswerTooLarge, match="101 bytes, more than the 100"):
        send(http_sender(lambda request: httpx.Response(200, content=b"x" * 101),
                         max_bytes=100), "GET", "/dids")


def test_http_cuts_off_an_undeclared_answer_once_it_grows_too_large():
    async def chunks():
        for _ in range(3):
            yield b"x" * 60

    with pytest.raises(AnswerTooLarge, match="larger than 100 bytes"):
        send(http_sender(lambda request: httpx.Response(200, content=chunks()),
                         max_bytes=100), "GET", "/dids")


def test_http_no_answer_is_transport_failed_naming_the_host():
    def handler(request):
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(TransportFailed, match="cannot reach the MiniVoice API at api.example.test"):
        send(http_sender(handler), "GET", "/dids")


def test_http_a_request_past_its_deadline_is_transport_failed():
    async def handler(request):
        await asyncio.sleep(5)
        return httpx.Response(200)

    with pytest.raises(TransportFailed, match="did not answer within 0.05s"):
        send(http_sender(handler, deadline=0.05), "GET", "/dids")


def direct_sender(port: int, **options) -> DirectSender:
    settings = {"tls": None, "deadline": 5.0, "step_timeout": 5.0, "connect_timeout": 5.0,
                "max_bytes": 1024 * 1024, **options}
    return DirectSender(f"http://127.0.0.1:{port}/v1", {"Authorization": "Bearer k"}, 1,
                        **settings)


async def serve(answer: bytes, connections: list, requests: list):
    """A server answering every request on a connection with `answer` (kept alive)."""

    async def handle(reader, writer):
        connections.append(writer)
        while True:
            head = await reader.readuntil(b"\r\n\r\n") if not reader.at_eof() else b""
            if not head:
                break
            requests.append(head.decode())
            length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            await reader.readexactly(length)
            writer.write(answer)
            await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def test_direct_keeps_one_connection_alive_across_requests():
    connections, requests = [], []
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}"

    async def go():
        server = await serve(answer, connections, requests)
        sender = direct_sender(server.sockets[0].getsockname()[1])
        try:
            first = await sender.send("GET", "/dids/did_1")
            second = await sender.send("PATCH", "/dids/did_1", {"status": "active"})
        finally:
            sender.close()
            server.close()
        return first, second

    first, second = asyncio.run(go())
    assert (first.status, first.content, second.status) == (200, b"{}", 200)
    assert len(connections) == 1  # the second request reused the first's connection
    assert requests[0].startswith("GET /v1/dids/did_1 HTTP/1.1\r\n")
    assert "Authorization: Bearer k" in requests[0] and "Host: 127.0.0.1:" in requests[0]
    assert requests[1].startswith("PATCH /v1/dids/did_1 HTTP/1.1\r\n")


def test_direct_a_refused_connection_is_unreachable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(TransportFailed, match="connection refused") as caught:
        send(direct_sender(port), "GET", "/dids")
    assert caught.value.unreachable


def test_direct_an_answer_that_never_comes_is_bounded_by_the_deadline():
    async def go():
        async def silent(reader, writer):
            await asyncio.sleep(5)

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        try:
            return await direct_sender(server.sockets[0].getsockname()[1],
                                       deadline=0.1).send("GET", "/dids")
        finally:
            server.close()

    with pytest.raises(TransportFailed, match="did not answer within 0.1s"):
        asyncio.run(go())
