"""A real webhook receiver on loopback: http.server in a thread, answering as each path says.

`/ok` answers 204; `/slow` sleeps 10 s first; `/script` answers from `script` in turn (a status,
or "timeout" to sleep past the dispatcher's read timeout; 204 once it is used up); `/hang-once`
holds the first request for 30 s (until its dispatcher is killed), then answers 204.
"""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    base: str = ""
    received: list[Received] = field(default_factory=list)
    script: list[int | str] = field(default_factory=list)
    timeout_sleep: float = 2.0
    hung: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def on(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def answer(self, path: str) -> tuple[int, bytes]:
        if path == "/slow":
            time.sleep(10)
        elif path == "/big":
            return 500, b"x" * 5000
        elif path == "/script":
            with self.lock:
                step = self.script.pop(0) if self.script else 204
            if step == "timeout":
                time.sleep(self.timeout_sleep)
                return 204, b""
            return int(step), b"nope" if int(step) >= 300 else b""
        elif path == "/hang-once" and not self.hung.is_set():
            self.hung.set()
            time.sleep(30)
        return 204, b""


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the dispatcher reuses its connections

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            with receiver.lock:
                receiver.received.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
            status, answer = receiver.answer(self.path)
            try:
                self.send_response(status)
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except OSError:
                pass  # the dispatcher gave up on us (timeout, killed)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


class Server(ThreadingHTTPServer):
    # socketserver's backlog of 5 drops connections the dispatcher opens at once; a dropped
    # SYN is sent again after a second, past the tests' connect timeout.
    request_queue_size = 128


@contextmanager
def receiving() -> Iterator[Receiver]:
    receiver = Receiver()
    server = Server(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
