"""A Lambda Runtime API emulator on loopback (Python 3.11 standard library only).

It implements the four endpoints a custom runtime talks to, as documented in
https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html:

    GET  /2018-06-01/runtime/invocation/next          blocks until an event is queued
    POST /2018-06-01/runtime/invocation/{id}/response the function's answer
    POST /2018-06-01/runtime/invocation/{id}/error    a handler error
    POST /2018-06-01/runtime/init/error               an initialisation error

and records the times the harness measures: the first `next` call (end of init), and for each
invocation when it was queued, handed out and answered. All times are `time.perf_counter()`.

Usage:
    api = RuntimeApi(function_name="health").start()
    env["AWS_LAMBDA_RUNTIME_API"] = api.address        # "127.0.0.1:PORT", no scheme
    inv = api.submit(b'{"event": 1}')                   # queued; handed out on the next `next`
    inv.wait(10)                                        # True once /response or /error arrived
    inv.outcome, inv.body, inv.error_type
    api.stop()
"""

from __future__ import annotations

import json
import queue
import re
import socket
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"
_RESPONSE = re.compile(r"^/2018-06-01/runtime/invocation/([^/]+)/(response|error)$")


@dataclass
class Invocation:
    request_id: str
    payload: bytes
    deadline_ms: int
    queued_at: float = 0.0
    delivered_at: float | None = None
    done_at: float | None = None
    outcome: str | None = None  # "response" or "error"
    body: bytes = b""
    error_type: str | None = None
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    @property
    def latency(self) -> float | None:
        """Seconds from the event being made available to its answer."""
        return None if self.done_at is None else self.done_at - self.queued_at

    def json(self):
        return json.loads(self.body or b"null")


@dataclass
class InitError:
    at: float
    error_type: str | None
    body: bytes


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A function killed at the end of a run resets its connections: not worth a traceback.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class RuntimeApi:
    def __init__(
        self,
        function_name: str = "function",
        host: str = "127.0.0.1",
        port: int = 0,
        timeout_seconds: float = 10.0,
        region: str = "eu-central-1",
        account: str = "123456789012",
    ):
        self.function_name = function_name
        self.function_arn = f"arn:aws:lambda:{region}:{account}:function:{function_name}"
        self.timeout_seconds = timeout_seconds
        self._queue: queue.Queue[Invocation] = queue.Queue()
        self._by_id: dict[str, Invocation] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._first_next = threading.Event()
        self._init_error_event = threading.Event()
        self.first_next_at: float | None = None
        self.next_calls = 0
        self.init_error: InitError | None = None
        self.unknown_posts: list[str] = []
        api = self

        class Handler(_Handler):
            runtime = api

        self._server = QuietServer((host, port), Handler)
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def start(self) -> "RuntimeApi":
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- the harness side ------------------------------------------------------------------
    def submit(self, payload: bytes | str | dict, request_id: str | None = None) -> Invocation:
        """Queues an event; the function gets it on its next (or current, blocked) `next` call."""
        if isinstance(payload, dict):
            payload = json.dumps(payload)
        if isinstance(payload, str):
            payload = payload.encode()
        rid = request_id or str(uuid.uuid4())
        inv = Invocation(rid, payload, deadline_ms=int((time.time() + self.timeout_seconds) * 1000))
        with self._lock:
            self._by_id[rid] = inv
        inv.queued_at = time.perf_counter()
        self._queue.put(inv)
        return inv

    def invoke(self, payload, timeout: float | None = None) -> Invocation:
        inv = self.submit(payload)
        if not inv.wait(timeout if timeout is not None else self.timeout_seconds):
            raise TimeoutError(f"no answer to invocation {inv.request_id} within the timeout")
        return inv

    def wait_first_next(self, timeout: float | None = None) -> bool:
        return self._first_next.wait(timeout)

    def wait_init_error(self, timeout: float | None = None) -> bool:
        return self._init_error_event.wait(timeout)

    # -- called by the handler ------------------------------------------------------------
    def _next(self) -> Invocation | None:
        now = time.perf_counter()
        with self._lock:
            self.next_calls += 1
            if self.first_next_at is None:
                self.first_next_at = now
                self._first_next.set()
        while not self._closing.is_set():
            try:
                inv = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            inv.delivered_at = time.perf_counter()
            return inv
        return None

    def _complete(self, rid: str, outcome: str, body: bytes, error_type: str | None) -> bool:
        now = time.perf_counter()
        with self._lock:
            inv = self._by_id.get(rid)
            if inv is None or inv.outcome is not None:
                self.unknown_posts.append(rid)
                return False
            inv.done_at, inv.outcome, inv.body, inv.error_type = now, outcome, body, error_type
        inv._done.set()
        return True

    def _init_failed(self, body: bytes, error_type: str | None) -> None:
        self.init_error = InitError(time.perf_counter(), error_type, body)
        self._init_error_event.set()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real endpoint
    runtime: RuntimeApi

    def log_message(self, *args):  # quiet
        pass

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _reply(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        # Headers and body in one write: no Nagle / delayed-ACK stall on loopback.
        self._headers_buffer.append(b"\r\n" + body)
        self.flush_headers()

    def do_GET(self):
        if self.path != PREFIX + "/invocation/next":
            return self._reply(404, b'{"errorType":"NotFound"}')
        inv = self.runtime._next()
        if inv is None:  # shutting down
            self.close_connection = True
            return self._reply(500, b'{"errorType":"ShuttingDown"}')
        self._reply(
            200,
            inv.payload,
            {
                "Content-Type": "application/json",
                "Lambda-Runtime-Aws-Request-Id": inv.request_id,
                "Lambda-Runtime-Deadline-Ms": str(inv.deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": self.runtime.function_arn,
                "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0",
            },
        )

    def do_POST(self):
        body = self._read_body()
        error_type = self.headers.get("Lambda-Runtime-Function-Error-Type")
        if self.path == PREFIX + "/init/error":
            self.runtime._init_failed(body, error_type)
            return self._reply(202, b'{"status":"OK"}', {"Content-Type": "application/json"})
        m = _RESPONSE.match(self.path)
        if not m:
            return self._reply(404, b'{"errorType":"NotFound"}')
        rid, kind = m.group(1), m.group(2)
        if not self.runtime._complete(rid, kind, body, error_type):
            return self._reply(400, b'{"errorType":"InvalidRequestID"}', {"Content-Type": "application/json"})
        self._reply(202, b'{"status":"OK"}', {"Content-Type": "application/json"})
