"""A recording reverse proxy on loopback in front of moto (Python 3.11 standard library only).

Every request is forwarded unchanged to the upstream (moto's server) and recorded as
(start, end, service, operation, status): start is when the kernel received the request's first
byte (SO_TIMESTAMPNS), end is when the whole answer has been handed back to the kernel, so the
proxy's own work (thread wake-up, parsing, forwarding) counts as the AWS side's time, not the
function's; the service from the SigV4 credential scope of the
Authorization header (`Credential=AKID/20260101/eu-central-1/dynamodb/aws4_request`), the
operation from `X-Amz-Target` for the JSON protocols (DynamoDB, KMS, Secrets Manager) or from the
method and the shape of the path for S3 (REST). Requests to `/__webhook` are answered here
(200) and recorded as service `webhook`: point a Slack webhook secret at it.

The harness points the functions' `AWS_ENDPOINT_URL` at the proxy and attributes records to
init or to an invocation by time (`mark()` / `since(mark)`).
"""

from __future__ import annotations

import http.client
import re
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
# SO_TIMESTAMPNS (asm-generic and x86 value; Python does not export it): the kernel stamps
# each received segment, and recvmsg hands the stamp over as ancillary data.
_SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}


@dataclass
class Call:
    start: float
    end: float | None  # set once the answer is passed on (see AwsProxy.settled_since)
    service: str
    operation: str
    status: int = 0

    @property
    def key(self) -> str:
        return f"{self.service}:{self.operation}"

    @property
    def seconds(self) -> float:
        return (self.end or self.start) - self.start


def classify(method: str, path: str, headers) -> tuple[str, str]:
    auth = headers.get("Authorization", "") or ""
    m = _SCOPE.search(auth)
    service = m.group(1) if m else "unsigned"
    target = headers.get("X-Amz-Target")
    if target:
        return service, target.rsplit(".", 1)[-1]
    if service == "s3":
        parts = urlsplit(path)
        segments = [s for s in parts.path.split("/") if s]
        query = sorted(q.split("=", 1)[0] for q in parts.query.split("&") if q)
        what = "Object" if len(segments) > 1 else "Bucket" if segments else "Service"
        suffix = f"?{','.join(query)}" if query and query != ["x-id"] else ""
        return service, f"{method}{what}{suffix}"
    # Query protocol (form body) and anything else: method and path.
    return service, f"{method} {urlsplit(path).path}"


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class AwsProxy:
    def __init__(self, upstream: str, host: str = "127.0.0.1", port: int = 0):
        u = urlsplit(upstream)
        self.upstream_host, self.upstream_port = u.hostname, u.port or 80
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._answered = threading.Condition(self._lock)
        self._local = threading.local()
        proxy = self

        class Handler(_Handler):
            owner = proxy

        self._server = QuietServer((host, port), Handler)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "AwsProxy":
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def mark(self) -> int:
        with self._lock:
            return len(self.calls)

    def since(self, mark: int, until: int | None = None) -> list[Call]:
        with self._lock:
            return list(self.calls[mark:until])

    def settled_since(self, mark: int, timeout: float = 5.0) -> list[Call]:
        """The calls since `mark`, once each has its end: an answer reaches the function a moment
        before the proxy's thread notes that it has sent it."""
        deadline = time.perf_counter() + timeout
        with self._answered:
            while any(c.end is None for c in self.calls[mark:]):
                left = deadline - time.perf_counter()
                if left <= 0:
                    break
                self._answered.wait(left)
            return list(self.calls[mark:])

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def _answered_now(self, call: Call, status: int) -> None:
        with self._answered:
            call.status, call.end = status, time.perf_counter()
            self._answered.notify_all()

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=30)
            self._local.conn = conn
        return conn

    def _drop_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
        self._local.conn = None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner: AwsProxy

    def log_message(self, *args):
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(out)
                out.append(self.rfile.read(size))
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def handle_one_request(self):
        self._t0 = arrival(self.connection)
        if self._t0 is None:  # the client closed the connection
            self.close_connection = True
            return
        super().handle_one_request()

    def _handle(self):
        start = self._t0
        body = self._body()
        if self.path.startswith("/__webhook"):
            call = Call(start, None, "webhook", self.command)
            self.owner._record(call)
            self._send(200, [("Content-Type", "text/plain")], b"ok", call)
            return
        service, operation = classify(self.command, self.path, self.headers)
        # Recorded before it is answered, so a call always falls in the window it was made in.
        call = Call(start, None, service, operation)
        self.owner._record(call)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
        if "Content-Length" not in headers and body:
            headers["Content-Length"] = str(len(body))
        status, resp_headers, data = 502, [], b""
        for attempt in range(2):  # a kept-alive upstream connection may have been closed
            try:
                conn = self.owner._connection()
                if conn.sock is None:
                    conn.connect()
                    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                conn.request(self.command, self.path, body=body, headers=headers)
                r = conn.getresponse()
                data = r.read()
                status, resp_headers = r.status, [(k, v) for k, v in r.getheaders() if k.lower() not in _HOP]
                if r.will_close:
                    self.owner._drop_connection()
                break
            except (http.client.HTTPException, OSError):
                self.owner._drop_connection()
                if attempt:
                    data = b"upstream unavailable"
        self._send(status, resp_headers, data, call)

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connection.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)

    def _send(self, status, headers, data: bytes, call: Call):
        self.send_response(status)
        head = self.command == "HEAD"
        for k, v in headers:
            if k.lower() != "content-length" or head:
                self.send_header(k, v)
        if not head:
            self.send_header("Content-Length", str(len(data)))
        # Headers and body in one write: no Nagle / delayed-ACK stall.
        self._headers_buffer.append(b"\r\n" + (b"" if head else data))
        # The call ends as its answer is handed to the kernel: taken after the write, it would
        # wait for this thread to get the GIL back while the function is already running on.
        self.owner._answered_now(call, status)
        self.flush_headers()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle


def arrival(sock: socket.socket) -> float | None:
    """When (perf_counter) the kernel received the first byte waiting on `sock`, blocking until
    there is one; None once the peer has closed. The byte stays unread (MSG_PEEK). Clients do not
    pipeline requests, so nothing of the next request is in the handler's read buffer already.
    The handler thread is normally already waiting here when a request arrives; if it comes late
    and the request arrived in several segments, the kernel reports the newest one's stamp, so
    the start can only come out late (the function charged more, never less)."""
    try:
        data, ancillary, _, _ = sock.recvmsg(1, socket.CMSG_SPACE(16), socket.MSG_PEEK)
    except OSError:
        return None
    if not data:
        return None
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(payload) >= 16:
            sec, nsec = struct.unpack("qq", payload[:16])
            waited = time.clock_gettime(time.CLOCK_REALTIME) - (sec + nsec / 1e9)
            return time.perf_counter() - max(waited, 0.0)
    # No stamp (the kernel enables receive stamps a moment after the first socket asks): now,
    # which can only charge the function more.
    return time.perf_counter()
