"""The Sender seam (minivoice/transport.py) and its two senders: HttpSender over httpx, given a
MockTransport here, and DirectSender (httptools over asyncio streams), given a small local
server."""

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


def exchange(answer: bytes, requests: int = 1, **options):
    """Send `requests` GETs to a server that answers each with `answer`; the answers (or the
    error), the connections the server saw, and the requests it read."""
    connections, seen = [], []

    async def go():
        server = await serve(answer, connections, seen)
        sender = direct_sender(server.sockets[0].getsockname()[1], **options)
        try:
            return [await sender.send("GET", f"/dids/did_{n}") for n in range(requests)]
        finally:
            sender.close()
            server.close()

    return asyncio.run(go()), connections, seen


def test_direct_reads_a_chunked_answer_and_keeps_the_connection():
    answer = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nETag: \"v1\"\r\n\r\n"
              b"3\r\n{\"a\r\n5\r\n\": 1}\r\n0\r\n\r\n")
    answers, connections, _ = exchange(answer, requests=2)
    assert [a.content for a in answers] == [b'{"a": 1}'] * 2
    assert answers[0].headers["etag"] == '"v1"' and len(connections) == 1


def test_direct_an_interim_answer_is_skipped_for_the_real_one():
    answer = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}"
    (first,), _, _ = exchange(answer)
    assert (first.status, first.content) == (201, b"{}")


def answered_once(*parts: bytes):
    """What one GET gets from a server that writes `parts` (one write each) and closes."""

    async def go():
        async def once(reader, writer):
            await reader.readuntil(b"\r\n\r\n")
            for part in parts:
                writer.write(part)
                await writer.drain()
            writer.close()

        server = await asyncio.start_server(once, "127.0.0.1", 0)
        try:
            return await direct_sender(server.sockets[0].getsockname()[1]).send("GET", "/d")
        finally:
            server.close()

    return asyncio.run(go())


def test_direct_an_answer_without_a_length_ends_with_the_connection():
    answer = answered_once(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{\"id\": ",
                           b"\"did_1\"}")
    assert answer.content == b'{"id": "did_1"}'


def test_direct_an_answer_cut_before_its_length_is_transport_failed():
    with pytest.raises(TransportFailed, match="closed by the other side"):
        answered_once(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{\"id\"")


def test_direct_what_follows_an_answer_is_not_taken_for_the_next_one():
    # An answer with a second one glued to it: the first stands; the second is never handed
    # to the next request, which goes out on a new connection.
    answer = (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
              b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"forged\":1}")
    answers, connections, _ = exchange(answer, requests=2)
    assert [a.content for a in answers] == [b"{}", b"{}"]
    assert len(connections) == 2


def test_direct_endless_headers_are_not_valid_http():
    answer = b"HTTP/1.1 200 OK\r\n" + b"X-Pad: " + b"a" * 200_000 + b"\r\n\r\n{}"
    with pytest.raises(TransportFailed, match="not valid HTTP"):
        exchange(answer)


@pytest.mark.parametrize("value", ["k\r\nX-Injected: 1", "k\nX: 1", "k\x00", "k\u0142"])
def test_direct_a_header_http_cannot_carry_is_refused_before_anything_is_sent(value):
    async def go():
        connections, seen = [], []
        server = await serve(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", connections,
                             seen)
        sender = DirectSender(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1",
                              {"Authorization": f"Bearer {value}"}, 1, tls=None, deadline=5,
                              step_timeout=5, connect_timeout=5, max_bytes=1024)
        try:
            with pytest.raises(TransportFailed, match="cannot send the request") as caught:
                await sender.send("GET", "/dids/did_1")
            await asyncio.sleep(0)
        finally:
            sender.close()
            server.close()
        assert value not in str(caught.value)
        return seen

    assert asyncio.run(go()) == []


def test_direct_an_answer_pushed_onto_an_idle_connection_is_not_taken_for_the_next_one():
    # A server that, after answering, writes a second answer nobody asked for: the kept
    # connection now holds it, so the next request goes out on a new connection and gets its
    # own answer, not the pushed one.
    pushed, answered = asyncio.Event(), asyncio.Event()
    connections = []

    async def go():
        async def handle(reader, writer):
            connections.append(writer)
            first = len(connections) == 1
            while not reader.at_eof():
                try:
                    await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    break
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
                await writer.drain()
                if first:  # once the client has read its answer, and kept the connection
                    first = False
                    await answered.wait()
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{\"forged\":1}")
                    await writer.drain()
                    pushed.set()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        sender = direct_sender(server.sockets[0].getsockname()[1])
        try:
            first = await sender.send("GET", "/dids/did_1")
            kept = sender.lanes._queue[0]
            answered.set()
            await pushed.wait()
            for _ in range(5000):  # until the pushed bytes have reached the client
                if kept.reader._buffer:
                    break
                await asyncio.sleep(0.001)
            second = await sender.send("GET", "/dids/did_2")
        finally:
            sender.close()
            server.close()
        return first, second

    first, second = asyncio.run(go())
    assert (first.content, second.content) == (b"{}", b"{}")
    assert len(connections) == 2


def test_direct_endless_trailers_are_not_valid_http():
    answer = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n"
              + b"X-Trailer: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n" * 4000 + b"\r\n")
    with pytest.raises(TransportFailed, match="trailers are longer than 65536 bytes"):
        exchange(answer)


def test_direct_an_answer_in_countless_small_chunks_is_cut_off():
    answer = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
              + b"1;padding-of-the-chunk-extension\r\nx\r\n" * 5_000 + b"0\r\n\r\n")
    with pytest.raises(AnswerTooLarge, match="took more than 10000 bytes"):
        exchange(answer, max_bytes=10_000)


def test_direct_headers_over_64_kib_are_refused_even_when_they_end_in_a_later_read():
    answer = b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 100_000 + b"\r\nContent-Length: 2\r\n\r\n{}"
    with pytest.raises(TransportFailed, match="headers are longer than 65536 bytes"):
        exchange(answer)
