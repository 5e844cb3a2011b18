"""The body limits against the real server (uvicorn), as an attacker sends: a 400 MB JSON body
without a key, and a chunked JSON body that never ends, both refused long before their end."""

import socket
import time
from collections.abc import Iterator

import pytest

from tests.conftest import ADMIN_KEY
from tests.live_server import real_server

CHUNK = b"x" * (64 * 1024)
MAX_SENT = 64 * 1024 * 1024  # the client gives up sending after this much


@pytest.fixture(scope="module")
def address(database_url: str) -> Iterator[tuple[str, int]]:
    with real_server(database_url, ADMIN_KEY) as base:
        host, port = base.removeprefix("http://").split(":")
        yield host, int(port)


def send_until_answered(address: tuple[str, int], head: bytes, chunked: bool) -> tuple[bytes, int]:
    """Send `head`, then body chunks until the server answers; (the status line, bytes sent)."""
    with socket.create_connection(address, timeout=10) as connection:
        connection.sendall(head)
        connection.setblocking(False)
        sent = 0
        deadline = time.monotonic() + 20
        while sent < MAX_SENT and time.monotonic() < deadline:
            try:
                answer = connection.recv(65536)
                if answer:
                    return answer.split(b"\r\n", 1)[0], sent
            except BlockingIOError:
                pass
            piece = b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK) if chunked else CHUNK
            try:
                connection.send(piece)
                sent += len(CHUNK)
            except BlockingIOError:
                time.sleep(0.01)  # the server does not read: wait for its answer
            except (BrokenPipeError, ConnectionResetError):
                break
        connection.setblocking(True)
        return connection.recv(65536).split(b"\r\n", 1)[0], sent


def test_400_mb_without_a_key_is_401_at_once(address: tuple[str, int]) -> None:
    head = (
        b"POST /v1/organizations HTTP/1.1\r\nHost: perisai\r\n"
        b"Content-Type: application/json\r\nContent-Length: 419430400\r\n\r\n"
    )
    started = time.monotonic()
    status, sent = send_until_answered(address, head, chunked=False)
    assert status == b"HTTP/1.1 401 Unauthorized"
    assert time.monotonic() - started < 5
    assert sent < 32 * 1024 * 1024  # nowhere near the 400 MB


def test_endless_chunked_json_is_413_soon_after_the_limit(address: tuple[str, int]) -> None:
    head = (
        b"POST /v1/organizations HTTP/1.1\r\nHost: perisai\r\n"
        b"Authorization: Bearer " + ADMIN_KEY.encode() + b"\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    status, sent = send_until_answered(address, head, chunked=True)
    assert status == b"HTTP/1.1 413 Request Entity Too Large"
    assert sent < 32 * 1024 * 1024  # the limit is 1 MiB; the rest is socket buffers
