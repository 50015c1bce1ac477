"""Unit tests of the Runtime API emulator and the recording proxy (standard library unittest).

    python3 tests/perf/test_runtime_api.py        # or: python3 -m unittest discover tests/perf

A fake runtime client written here drives the protocol; a real Rust binary (the bare
lambda_http function) drives it too. The harness's pure logic (scenarios.py: the function list,
placeholder filling, the per-function scenarios) is tested here as well. The binary is looked up in $PERF_BARE_BIN, then
target/perf-quick/bare, target/release/bare, target/debug/bare; without one the real-binary tests
are skipped, except under CI=true, where a missing binary is a failure.
"""

from __future__ import annotations

import base64
import contextlib
import io
import datetime as dt
import http.client
import json
import re
import socket
import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
import aws_proxy  # noqa: E402
from aws_proxy import AwsProxy, classify  # noqa: E402
from runtime_api import RuntimeApi  # noqa: E402
import scenarios  # noqa: E402

BASE = "/2018-06-01/runtime"


class FakeRuntime:
    """What a custom runtime does, over one kept-alive connection like the real clients."""

    def __init__(self, address: str):
        host, port = address.split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=10)

    def request(self, method, path, body=None, headers=None):
        self.conn.request(method, path, body=body, headers=headers or {})
        r = self.conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()

    def next(self):
        return self.request("GET", BASE + "/invocation/next")

    def respond(self, rid, body: bytes):
        return self.request("POST", f"{BASE}/invocation/{rid}/response", body, {"Content-Type": "application/json"})

    def error(self, rid, error_type: str, message: str):
        body = json.dumps({"errorType": error_type, "errorMessage": message}).encode()
        return self.request("POST", f"{BASE}/invocation/{rid}/error", body, {"Lambda-Runtime-Function-Error-Type": error_type})

    def init_error(self, error_type: str, message: str):
        body = json.dumps({"errorType": error_type, "errorMessage": message}).encode()
        return self.request("POST", BASE + "/init/error", body, {"Lambda-Runtime-Function-Error-Type": error_type})


def in_thread(fn):
    t = threading.Thread(target=fn, daemon=True)
    t.start()
    return t


class ProtocolTest(unittest.TestCase):
    def setUp(self):
        self.api = RuntimeApi(function_name="unit", timeout_seconds=5).start()
        self.addCleanup(self.api.stop)
        self.clients = []
        self.addCleanup(lambda: [c.conn.close() for c in self.clients])

    def client(self) -> FakeRuntime:
        c = FakeRuntime(self.api.address)
        self.clients.append(c)
        return c

    def test_next_blocks_until_an_event_is_queued_and_a_response_completes_it(self):
        client = self.client()
        got = {}

        def runtime():
            got["next"] = client.next()
            status, headers, body = got["next"]
            rid = headers["Lambda-Runtime-Aws-Request-Id"]
            got["post"] = client.respond(rid, json.dumps({"echo": json.loads(body)}).encode())

        t = in_thread(runtime)
        self.assertTrue(self.api.wait_first_next(5))
        time.sleep(0.1)
        self.assertNotIn("next", got, "next must block while no event is queued")
        inv = self.api.invoke({"hello": "world"}, timeout=5)
        t.join(5)
        status, headers, body = got["next"]
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body), {"hello": "world"})
        self.assertEqual(headers["Lambda-Runtime-Aws-Request-Id"], inv.request_id)
        self.assertGreater(int(headers["Lambda-Runtime-Deadline-Ms"]), time.time() * 1000)
        self.assertEqual(headers["Lambda-Runtime-Invoked-Function-Arn"], "arn:aws:lambda:eu-central-1:123456789012:function:unit")
        self.assertTrue(headers["Lambda-Runtime-Trace-Id"].startswith("Root=1-"))
        self.assertEqual(got["post"][0], 202)
        self.assertEqual(inv.outcome, "response")
        self.assertEqual(inv.json(), {"echo": {"hello": "world"}})
        self.assertIsNotNone(self.api.first_next_at)
        self.assertLessEqual(inv.queued_at, inv.delivered_at)
        self.assertLessEqual(inv.delivered_at, inv.done_at)

    def test_invocations_run_in_order_over_one_connection(self):
        client = self.client()

        def runtime():
            for _ in range(3):
                _, headers, body = client.next()
                client.respond(headers["Lambda-Runtime-Aws-Request-Id"], body)

        in_thread(runtime)
        answers = [self.api.invoke({"n": i}, timeout=5).json()["n"] for i in range(3)]
        self.assertEqual(answers, [0, 1, 2])
        self.assertEqual(self.api.next_calls, 3)

    def test_a_handler_error_reaches_error(self):
        client = self.client()
        got = {}

        def runtime():
            _, headers, _ = client.next()
            got["post"] = client.error(headers["Lambda-Runtime-Aws-Request-Id"], "Handler.Boom", "it broke")

        t = in_thread(runtime)
        inv = self.api.invoke("{}", timeout=5)
        t.join(5)
        self.assertEqual(got["post"][0], 202)
        self.assertEqual(inv.outcome, "error")
        self.assertEqual(inv.error_type, "Handler.Boom")
        self.assertEqual(inv.json()["errorMessage"], "it broke")

    def test_an_init_error_reaches_init_error(self):
        client = self.client()
        status, _, _ = client.init_error("Runtime.ConfigError", "set TABLE_NAME")
        self.assertEqual(status, 202)
        self.assertTrue(self.api.wait_init_error(1))
        self.assertEqual(self.api.init_error.error_type, "Runtime.ConfigError")
        self.assertEqual(json.loads(self.api.init_error.body)["errorMessage"], "set TABLE_NAME")
        self.assertIsNone(self.api.first_next_at)

    def test_an_unknown_request_id_is_refused(self):
        status, _, body = self.client().respond("no-such-id", b"{}")
        self.assertEqual(status, 400)
        self.assertIn(b"InvalidRequestID", body)

    def test_a_chunked_response_is_read_whole(self):
        client = self.client()

        def runtime():
            _, headers, _ = client.next()
            rid = headers["Lambda-Runtime-Aws-Request-Id"]
            client.conn.request("POST", f"{BASE}/invocation/{rid}/response", body=iter([b'{"a":', b"1}"]), encode_chunked=True)
            client.conn.getresponse().read()

        in_thread(runtime)
        self.assertEqual(self.api.invoke("{}", timeout=5).json(), {"a": 1})


class ProxyTest(unittest.TestCase):
    def proxy_in_front_of(self, upstream: type[BaseHTTPRequestHandler]) -> AwsProxy:
        """A started proxy forwarding to a server of `upstream` handlers, both stopped after the test."""
        up = ThreadingHTTPServer(("127.0.0.1", 0), upstream)
        in_thread(up.serve_forever)
        self.addCleanup(up.server_close)
        self.addCleanup(up.shutdown)
        proxy = AwsProxy(f"http://127.0.0.1:{up.server_address[1]}").start()
        self.addCleanup(proxy.stop)
        return proxy

    def test_classifies_json_and_rest_protocols(self):
        auth = "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-central-1/{}/aws4_request, SignedHeaders=host, Signature=x"
        self.assertEqual(classify("POST", "/", {"Authorization": auth.format("dynamodb"), "X-Amz-Target": "DynamoDB_20120810.GetItem"}), ("dynamodb", "GetItem"))
        self.assertEqual(classify("POST", "/", {"Authorization": auth.format("kms"), "X-Amz-Target": "TrentService.Decrypt"}), ("kms", "Decrypt"))
        self.assertEqual(classify("PUT", "/bucket/a/b.jsonl?x-id=PutObject", {"Authorization": auth.format("s3")}), ("s3", "PUTObject"))

    def test_forwards_and_records_each_call(self):
        class Upstream(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                out = json.dumps({"target": self.headers["X-Amz-Target"], "len": len(body)}).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        proxy = self.proxy_in_front_of(Upstream)
        host, port = proxy.url.rsplit(":", 1)
        conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=5)
        auth = "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-central-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=x"
        for _ in range(2):
            conn.request("POST", "/", body=b"{}", headers={"Authorization": auth, "X-Amz-Target": "secretsmanager.GetSecretValue"})
            r = conn.getresponse()
            self.assertEqual(json.loads(r.read()), {"target": "secretsmanager.GetSecretValue", "len": 2})
        conn.close()
        calls = proxy.settled_since(0)
        self.assertEqual([c.key for c in calls], ["secretsmanager:GetSecretValue"] * 2)
        self.assertTrue(all(c.status == 200 and c.end >= c.start for c in calls))

    def test_a_call_is_timed_from_its_first_byte_to_the_answer_sent(self):
        seen = []

        class Upstream(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                seen.append(time.perf_counter())
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        proxy = self.proxy_in_front_of(Upstream)
        port = int(proxy.url.rsplit(":", 1)[1])
        request = (
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nX-Amz-Target: DynamoDB_20120810.GetItem\r\n"
            b"Authorization: AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-central-1/dynamodb/aws4_request\r\n\r\n{}"
        )
        with socket.create_connection(("127.0.0.1", port)) as client:
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sent = time.perf_counter()
            client.sendall(request[:1])  # the first byte, then a pause before the rest
            time.sleep(0.05)
            client.sendall(request[1:])
            self.assertIn(b"200", client.recv(4096))
        (call,) = proxy.settled_since(0)
        self.assertEqual((call.key, call.status), ("dynamodb:GetItem", 200))
        # Started at the first byte's arrival, not when the proxy got to read or parse it.
        self.assertLess(call.start - sent, 0.02)
        self.assertGreater(seen[0] - call.start, 0.04)
        self.assertGreaterEqual(call.end, seen[0])


    def test_arrival_is_the_kernels_receipt_not_the_read(self):
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen()
        self.addCleanup(server.close)
        client = socket.create_connection(server.getsockname())
        self.addCleanup(client.close)
        conn, _ = server.accept()
        self.addCleanup(conn.close)
        conn.setsockopt(socket.SOL_SOCKET, aws_proxy._SO_TIMESTAMPNS, 1)
        time.sleep(0.05)  # the kernel turns receive stamps on a moment after the first socket asks
        client.sendall(b"P")
        time.sleep(0.05)  # the proxy's thread is slow to get to it
        arrived = aws_proxy.arrival(conn)
        self.assertGreater(time.perf_counter() - arrived, 0.04)
        self.assertEqual(conn.recv(1), b"P", "the byte is left for the request parser")
        client.close()
        self.assertIsNone(aws_proxy.arrival(conn), "end of stream")

    def test_settled_since_waits_for_the_answer_to_be_noted(self):
        proxy = AwsProxy("http://127.0.0.1:9")  # not started: only its record is used
        self.addCleanup(proxy._server.server_close)
        call = aws_proxy.Call(time.perf_counter(), None, "dynamodb", "GetItem")
        proxy._record(call)
        threading.Timer(0.05, proxy._answered_now, (call, 200)).start()
        (settled,) = proxy.settled_since(0)
        self.assertEqual(settled.status, 200)
        self.assertIsNotNone(settled.end)
        late = aws_proxy.Call(time.perf_counter(), None, "dynamodb", "Query")
        proxy._record(late)
        self.assertIsNone(proxy.settled_since(1, timeout=0.05)[0].end, "gives up after the timeout")


class ScenarioTest(unittest.TestCase):
    """The harness's pure logic: which functions, their events and scenarios."""

    TODAY = dt.date(2026, 1, 30)

    def values(self, **extra):
        v = {
            "token": "tok.en.sig",
            "email": "traveler@alpine.demo",
            "password": "Demo-pass",
            "totp": "123456",
            "offer_id": "s_abc-1",
            "booking_id": "b_abc",
            "policy_version": "3",
            "tenant": "t_aaaaaaaaaaaaaaaa",
            "user": "u_bbbbbbbbbbbbbbbb",
        }
        return v | extra

    def test_all_lists_every_binary_of_the_functions_crate_and_each_has_an_event(self):
        functions = scenarios.all_functions(ROOT)
        self.assertEqual(functions, sorted(functions))
        for f in ("authorizer", "keys-reencrypt", "audit-archive", "health", "me", "users-list", "tenants-offboard"):
            self.assertIn(f, functions)
        self.assertNotIn("bare", functions)
        self.assertGreaterEqual(len(functions), 42)
        for f in functions:
            self.assertTrue((ROOT / "events" / f"{f}.json").is_file(), f)

    def test_select_functions(self):
        available = ["a", "b", "c"]
        self.assertEqual(scenarios.select_functions("all", available), available)
        self.assertEqual(scenarios.select_functions("c, a,bare,c,", available), ["c", "a"])
        self.assertEqual(scenarios.select_functions("b,all", available), ["b", "a", "c"])
        self.assertEqual(scenarios.select_functions("health,me,users-list", available), ["health", "me", "users-list"])

    def test_fill_replaces_placeholders_dates_and_demo_ids(self):
        text = '{"a": "{{token}}", "d": "{{date+30}}", "e": "{{date+32}}", "m": "{{month}}", "v": {{policy_version}}, "p": "/t/t_demo0000000001/u/u_demo0000000001"}'
        out = json.loads(scenarios.fill(text, self.values(), self.TODAY))
        self.assertEqual(out, {"a": "tok.en.sig", "d": "2026-03-01", "e": "2026-03-03", "m": "2026-03", "v": 3, "p": "/t/t_aaaaaaaaaaaaaaaa/u/u_bbbbbbbbbbbbbbbb"})
        self.assertEqual(scenarios.fill("{{month}}", self.values(month="2027-01"), self.TODAY), "2027-01")
        with self.assertRaises(KeyError):
            scenarios.fill("{{nonsense}}", self.values(), self.TODAY)
        with self.assertRaises(KeyError):
            scenarios.fill("u_demo0000000001", {}, self.TODAY)

    def test_every_event_fills_to_json_without_a_placeholder_left(self):
        for f in scenarios.all_functions(ROOT):
            text = (ROOT / "events" / f"{f}.json").read_text()
            filled = scenarios.fill(text, self.values(), self.TODAY)
            self.assertEqual(scenarios.placeholders(filled), set(), f)
            self.assertNotIn("_demo00000", filled, f)
            event = json.loads(filled)
            if "httpMethod" in event and f != "authorizer":
                self.assertEqual(event["headers"].get("Authorization", "Bearer tok.en.sig"), "Bearer tok.en.sig", f)

    def test_make_unique_tags_headers_and_body_fields(self):
        event = {
            "headers": {"Idempotency-Key": "demo-key-0001", "Other": "x"},
            "multiValueHeaders": {"Idempotency-Key": ["demo-key-0001"]},
            "body": json.dumps({"email": "new.user@demo-a.test", "name": "N"}),
        }
        scenarios.make_unique(event, (("header", "idempotency-key"), ("body", "email")), "7")
        self.assertEqual(event["headers"], {"Idempotency-Key": "demo-key-0001-7", "Other": "x"})
        self.assertEqual(event["multiValueHeaders"], {"Idempotency-Key": ["demo-key-0001-7"]})
        self.assertEqual(json.loads(event["body"]), {"email": "new.user.7@demo-a.test", "name": "N"})

    def test_the_unique_fields_of_the_scenarios_are_in_their_events(self):
        for f, sc in scenarios.SCENARIOS.items():
            if not sc.unique:
                continue
            event = json.loads(scenarios.fill((ROOT / "events" / f"{f}.json").read_text(), self.values(), self.TODAY))
            before = json.dumps(event)
            for i in ("1", "2"):
                tagged = scenarios.make_unique(json.loads(before), sc.unique, i)
                self.assertNotEqual(json.dumps(tagged), before, f)

    def test_scenarios_name_real_functions_users_and_preparations(self):
        functions = set(scenarios.all_functions(ROOT))
        for f, sc in scenarios.SCENARIOS.items():
            self.assertIn(f, functions)
            self.assertIn(sc.caller, {"root", "admin", "traveler", "executive", "reporting", "arranger", "none"}, f)
            self.assertIn(sc.user, {"traveler", "executive", "reporting", "arranger", "admin"}, f)
            if sc.prepare:
                self.assertIn(sc.prepare, scenarios.PREPARE_HELPERS, f)
        self.assertEqual(scenarios.scenario("me"), scenarios.Scenario())
        helpers = scenarios.helper_functions(["me"])
        self.assertEqual(helpers, sorted(scenarios.SEED_HELPERS))
        self.assertTrue(set(scenarios.helper_functions(sorted(functions))) <= functions)
        self.assertIn("tenant-keys-rotate", scenarios.helper_functions(["keys-reencrypt"]))

    def test_platform_routes_are_called_by_the_root_admin(self):
        """The routes of the root-only permissions (rbac.rs: ManageTenants, RotateTenantKeys) get
        a root token; no other route does."""
        routes = (ROOT / "shared" / "src" / "routes.rs").read_text()
        found = re.findall(r'route\(\s*RouteId::\w+,\s*"[A-Z]+",\s*"[^"]+",\s*"([a-z-]+)",\s*(\w+(?:\([^)]*\))?)', routes)
        jobs = {"authorizer", "keys-reencrypt", "audit-archive"}
        self.assertEqual({f for f, _ in found}, set(scenarios.all_functions(ROOT)) - jobs, "every route is parsed")
        for function, access in found:
            root_only = access in ("Requires(P::ManageTenants)", "Requires(P::RotateTenantKeys)")
            self.assertEqual(scenarios.scenario(function).caller == "root", root_only, function)
            if access == "Public":
                self.assertIn(scenarios.scenario(function).caller, ("none", "admin"), function)

    def test_totp_matches_rfc6238(self):
        secret = base64.b32encode(b"12345678901234567890").decode().rstrip("=")
        for t, eight in ((59, "94287082"), (1111111109, "07081804"), (1234567890, "89005924"), (2000000000, "69279037")):
            self.assertEqual(scenarios.totp_code(secret, t), eight[-6:])

    def test_ed25519_seed_reads_pkcs8_v1_and_v2(self):
        seed, public = bytes(range(32)), bytes(range(32, 64))
        v1 = bytes.fromhex("302e020100300506032b657004220420") + seed
        v2 = bytes.fromhex("3053020101300506032b657004220420") + seed + bytes.fromhex("a123032100") + public
        self.assertEqual(scenarios.ed25519_seed(v1), seed)
        self.assertEqual(scenarios.ed25519_seed(v2), seed)
        with self.assertRaises(ValueError):
            scenarios.ed25519_seed(b"\x30\x03\x02\x01\x00")

    def test_status_column_entries(self):
        self.assertEqual(scenarios.status_of_body({"statusCode": 201, "body": "{}"}), "201")
        allow = {"principalId": "u", "policyDocument": {"Statement": [{"Effect": "Allow"}]}}
        deny = {"principalId": "u", "policyDocument": {"Statement": [{"Effect": "Deny"}]}}
        self.assertEqual(scenarios.status_of_body(allow), "allow")
        self.assertEqual(scenarios.status_of_body(deny), "deny")
        self.assertEqual(scenarios.status_of_body({"tenants": []}), "answered")
        self.assertEqual(scenarios.status_of_body(None), "answered")
        self.assertEqual([s for s in ("200", "204", "answered", "allow", "deny", "409", "error:x") if scenarios.is_success(s)], ["200", "204", "answered", "allow"])


BARE_BUILD = "cargo build --profile perf-quick -p bare-lambda --bin bare"


def find_binary(variable: str, name: str) -> Path | None:
    """The binary named in $variable (it must then exist), else target/{perf-quick,release,debug}/name."""
    named = os.environ.get(variable)
    if named:  # named explicitly (run-quick.sh): it must be there
        return Path(named) if Path(named).is_file() else None
    for profile in ("perf-quick", "release", "debug"):
        candidate = ROOT / "target" / profile / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def require_binary(test: unittest.TestCase, variable: str, name: str, build: str) -> Path:
    """find_binary's answer, or the test skips; under CI, or when $variable names a binary
    that is not there, it fails instead, so that a missing build cannot pass as a skip."""
    binary = find_binary(variable, name)
    if binary is None:
        if os.environ.get(variable) or os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            test.fail(f"no {name} binary (build it: {build})")
        test.skipTest(f"no {name} binary built")
    return binary


class InitRatioTest(unittest.TestCase):
    def test_init_is_compared_with_the_bare_starts_made_alongside_it(self):
        import harness

        results = [
            {"function": harness.BARE, "init_ms": 2.0, "init_bare_paired_ms": 2.0, "peak_rss_kb": 4000},
            {"function": harness.BARE_SDK, "init_ms": 5.0, "init_bare_paired_ms": 2.5, "peak_rss_kb": 6000},
            # bare measured 1.5 ms earlier in the run, 2.5 ms alongside this one
            {"function": "me", "init_ms": 3.0, "init_bare_paired_ms": 2.5, "peak_rss_kb": 8000},
        ]
        harness.add_ratios(results)
        me = results[2]
        self.assertAlmostEqual(me["ratio_to_bare"]["init_ms"], 1.2)
        self.assertAlmostEqual(me["ratio_to_bare_sdk"]["init_ms"], 1.2 / 2.0)
        self.assertAlmostEqual(me["ratio_to_bare"]["peak_rss_kb"], 2.0)
        self.assertIn("right after one of bare's", harness.markdown(results, {"profile": "x", "warm": 1, "date": "d", "host": "h", "cpus": 2}))

    def test_cpu_seconds_counts_what_a_process_computed(self):
        import harness

        before = harness.cpu_seconds(os.getpid())
        deadline = time.perf_counter() + 0.15
        while time.perf_counter() < deadline:
            pass
        self.assertGreater(harness.cpu_seconds(os.getpid()) - before, 0.08)
        self.assertIsNone(harness.cpu_seconds(2**22 + 12345), "no such process")

    def test_errors_accumulate(self):
        import harness

        result = {}
        harness.add_error(result, "first")
        harness.add_error(result, "second")
        self.assertEqual(result["error"], "first; second")

    def test_starts_alternate_with_bare(self):
        import harness

        order = []
        real = harness.repeat_inits
        harness.repeat_inits = lambda binary, env, n: order.append(binary.name) or [1.0]
        self.addCleanup(setattr, harness, "repeat_inits", real)
        inits, bare = harness.paired_inits(Path("me"), {}, (Path("bare"), {}))
        self.assertEqual(order, ["bare", "me"] * harness.INIT_REPEATS)
        self.assertEqual((len(inits), len(bare)), (harness.INIT_REPEATS, harness.INIT_REPEATS))


class LaunchPrefixTest(unittest.TestCase):
    """--launch-prefix puts the measured run under a profiler; the figures still come out."""

    def test_the_measured_run_starts_under_the_prefix(self):
        import harness

        binary = require_binary(self, "PERF_BARE_BIN", "bare", BARE_BUILD)
        with tempfile.TemporaryDirectory() as d:
            marker = Path(d) / "prefix-ran"
            # A stand-in profiler: notes its argument, then runs the command after it.
            prefix = ["sh", "-c", f'echo "$1" > "{marker}"; shift; exec "$@"', "sh", "under-test"]
            proxy = AwsProxy("http://127.0.0.1:9").start()  # bare calls no AWS service
            self.addCleanup(proxy.stop)
            result = harness.measure(harness.BARE, binary, None, proxy, 3, Path(d), launch_prefix=prefix)
            self.assertNotIn("error", result)
            self.assertEqual(result["statuses"], {"200": 4})
            # Bare calls no AWS service: its first answer is all its own.
            self.assertEqual(result["first_response_excl_aws_ms"], result["first_response_ms"])
            self.assertEqual(marker.read_text().strip(), "under-test")
            self.assertGreater(result["peak_rss_kb"], 0)
            # The resident pages of its own binary, by section: the code it ran among them.
            self.assertGreater(result["rss_by_section_kb"].get(".text", 0), 0, result["rss_by_section_kb"])


class CallgrindReadingTest(unittest.TestCase):
    def test_functions_come_once_in_file_order_callees_included_addresses_left_out_of_the_listing(self):
        import hot_text

        out = "".join(
            [
                "cmd:  /tmp/me\n",
                "ob=(1) /tmp/me\n",
                "fn=(1) main\n",
                "cfn=(2) _ZN6shared6lambda5start17h0123456789abcdefE\n",
                "calls=1 0\n",
                "fn=(2)\n",
                "cfn=(3) 0x000000000001ab70\n",
                "cfn=(4) _ZN6shared4http3run17h1E\n",
                "fn=(1)\n",
                "fn=(5) _ZN6shared6lambda5start17h0123456789abcdefE\n",
            ]
        )
        with tempfile.NamedTemporaryFile("w", suffix=".cg") as f:
            f.write(out)
            f.flush()
            binary, names = hot_text.functions_run(Path(f.name))
        self.assertEqual(binary, "/tmp/me")
        self.assertEqual(names, ["main", "_ZN6shared6lambda5start17h0123456789abcdefE", "0x000000000001ab70", "_ZN6shared4http3run17h1E"])
        listing = hot_text.listing([hot_text.without_hashes(n) for n in names[:2]], ["*-aesni-x86_64.o"], {"me": (900, [0, 2]), "health": (300, [0])})
        self.assertEqual(
            [line for line in listing.splitlines() if not line.startswith("#")],
            ["text main", "text _ZN6shared6lambda5start17h*E", "object *-aesni-x86_64.o", "function health 300 0", "function me 900 0,2"],
        )

    def test_a_recording_from_before_a_change_of_hashes_still_names_the_binarys_functions(self):
        import hot_text

        recorded = ["main", "_ZN6shared4http3run17h0123456789abcdefE", "_RNvCsOld1_6shared5start", "gone"]
        now = {"main": 10, "_ZN6shared4http3run17hfedcba9876543210E": 300, "_RNvCsNew2_6shared5start": 40, "other": 5}
        self.assertEqual(hot_text.own_functions(recorded, now), {recorded[0]: 10, recorded[1]: 300, recorded[2]: 40})
        # Two instances of a generic: the pattern lays out both.
        now["_ZN6shared4http3run17h1111111111111111E"] = 20
        self.assertEqual(hot_text.own_functions(recorded[1:2], now), {recorded[1]: 320})

    def test_a_function_share_is_written_as_ranges_of_entries(self):
        import hot_text

        self.assertEqual(hot_text.ranges([0, 1, 2, 3, 7, 9, 10]), "0-3,7,9-10")
        self.assertEqual(hot_text.ranges([5]), "5")


class CoveredTimeTest(unittest.TestCase):
    def test_overlapping_calls_count_once(self):
        self.assertAlmostEqual(scenarios.covered_seconds([]), 0.0)
        self.assertAlmostEqual(scenarios.covered_seconds([(0.0, 1.0), (2.0, 3.0)]), 2.0)
        # Two reads sent together, one inside the other, one overlapping the end.
        self.assertAlmostEqual(scenarios.covered_seconds([(0.0, 1.0), (0.2, 0.8), (0.5, 1.5)]), 1.5)


class HotTextTest(unittest.TestCase):
    """functions/hot-text.txt names the code that runs without the hashes of the build recorded,
    and release links of the functions lay it out in `.text.hot` (functions/build.rs)."""

    def test_patterns_leave_out_crate_and_instance_hashes(self):
        import hot_text

        cases = {
            "_ZN9hashbrown3raw21RawTable$LT$T$C$A$GT$14reserve_rehash17h87e4e69d466695d5E": (
                "_ZN9hashbrown3raw21RawTable$LT$T$C$A$GT$14reserve_rehash17h*E"
            ),
            "_RNvNtNtCsjrHSEGnQ3l9_3std6thread7current12init_current": "_RNvNtNtCs*_3std6thread7current12init_current",
            "_RNvXNtNtCsgEmfK2I1SDS_4core3str6traitseNtNtB6_3cmp3Ord3cmp.7271": "_RNvXNtNtCs*_4core3str6traitseNtNtB6_3cmp3Ord3cmp",
            "aws_lc_0_47_0_EVP_PKEY_up_ref": "aws_lc_*_EVP_PKEY_up_ref",
            "rand_bytes_impl": "rand_bytes_impl",
        }
        for symbol, pattern in cases.items():
            self.assertEqual(hot_text.without_hashes(symbol), pattern)
        self.assertEqual(len(hot_text.without_hashes("_ZN4core3ptr" + "x" * 500)), hot_text.LONGEST_PATTERN)

    def test_the_recorded_size_of_a_function_and_of_one_recorded_later(self):
        import harness

        with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
            f.write("# comment\ntext main\nobject *crt1.o\nfunction me 900 0-1\nfunction health 300 0\n")
            f.flush()
            self.assertEqual(harness.recorded_kb("me", Path(f.name)), 900)
            self.assertEqual(harness.recorded_kb("new-function", Path(f.name)), 300)

    def test_a_release_function_has_its_running_code_in_text_hot_and_bare_has_none(self):
        import harness

        function = require_binary(self, "PERF_FUNCTION_BIN", "health", "cargo build --profile perf-quick -p functions --bin health")
        if function.parent.name == "debug":
            self.skipTest("debug builds are not laid out")
        sizes = harness.code_sections_kb(function)
        self.assertIsNone(harness.hot_text_short({"function": function.name, "code_kb": sizes}), sizes)
        # And the data it read in `.rodata.hot`, before the rest (functions/hot-rodata.txt).
        loaded = {name: address for name, address, _ in harness.elf_sections(function)}
        self.assertLess(loaded[".rodata.hot"], loaded[".rodata"], loaded)
        bare = require_binary(self, "PERF_BARE_BIN", "bare", BARE_BUILD)
        self.assertNotIn(".text.hot", harness.code_sections_kb(bare))
        # Both are PIE: the loader relocates them; the function has the SDK's tables on top.
        self.assertGreater(harness.relocations(function), harness.relocations(bare), (function, bare))
        self.assertGreater(harness.relocations(bare), 0)


class HotRodataTest(unittest.TestCase):
    """functions/hot-rodata.txt names the read-only data the functions read, by the input
    sections of the link map at each address rodata_touch.c logged (tests/perf/hot_rodata.py)."""

    MAP = "".join(
        [
            "             VMA              LMA     Size Align Out     In      Symbol\n",
            "             2a8              2a8       1c     1 .interp\n",
            "             2a8              2a8       1c     1         <internal>:(.interp)\n",
            "           7fa00            7fa00    d3640    64 .rodata\n",
            "           7fa00            7fa00       a4     4         /t/release/deps/me-2c0f.me.bd7d-cgu.0.rcgu.o:(.rodata._ZN11lambda_http3run28_$u7b$$u7b$closure$u7d$$u7d$17he6752498c8ca5fc8E)\n",
            "           7faf0            7faf0     20d0    16         <internal>:(.rodata.cst16)\n",
            "           81bc0            81bc0       10     1         /t/release/deps/me-2c0f.me.bd7d-cgu.0.rcgu.o:(.rodata..Lanon.f4bc22c9b9a32bc82ed9e5cf774a0d03.10)\n",
            "           81bd0            81bd0      565    64         /t/deps/rustcX/libaws_lc_sys-642d.rlib(6cca901d1d9807b8-sha512-x86_64.o):(.rodata)\n",
            "           81bd0            81bd0        0     1                 K512\n",
            "           82200            82200     9000    64         /t/deps/rustcX/libaws_lc_sys-642d.rlib(00d1b03bb8efc9c1-p256-table.o):(.rodata)\n",
            "           8b200            8b200       40     8         /t/release/deps/me-2c0f.me.bd7d-cgu.0.rcgu.o:(.rodata..Lswitch.table._ZN4http6header4name10HeaderName6as_str17hfae982d2db79eaf2E.4764.rel)\n",
            "          153040           153040     1000     8 .eh_frame\n",
            "          153040           153040     1000     8         /t/a.o:(.eh_frame)\n",
        ]
    )

    def test_each_address_read_names_its_input_section_without_build_hashes_where_it_can(self):
        import hot_rodata

        sections = hot_rodata.InputSections(self.MAP)
        described = {
            0x7FA10: "*.rcgu.o(.rodata._ZN11lambda_http3run28_$u7b$$u7b$closure$u7d$$u7d$17h*E*)",
            0x7FB00: "*(.rodata.cst16)",
            0x81BC4: "*.rcgu.o(.rodata..Lanon.f4bc22c9b9a32bc82ed9e5cf774a0d03.10)",
            0x81BD0: "*-sha512-x86_64.o(.rodata)",
            0x8B210: "*.rcgu.o(.rodata..Lswitch.table._ZN4http6header4name10HeaderName6as_str17h*E*)",
        }
        for offset, pattern in described.items():
            section = sections.at(offset)
            self.assertIsNotNone(section, hex(offset))
            self.assertEqual(hot_rodata.pattern(section[2], section[3]), pattern)
        self.assertIsNone(sections.at(0x2A8))  # not read-only data
        self.assertIsNone(sections.at(0x153040))

    def test_the_listing_puts_data_every_function_reads_first_and_leaves_large_tables_and_yardsticks_out(self):
        import hot_rodata

        with tempfile.TemporaryDirectory() as d:
            maps = Path(d) / "maps"
            maps.mkdir()
            for function in ("me", "health"):
                (maps / f"{function}.map").write_text(self.MAP)
            (Path(d) / "touched.me.10").write_text("7fb00\n81bc4\n82300\n")  # cst16, anon, the big table
            (Path(d) / "touched.health.11").write_text("81bc4\n")
            (Path(d) / "touched.bare.12").write_text("7fa10\n")  # no map: a yardstick
            out = io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
                code = hot_rodata.main(["--maps", str(maps), *(str(p) for p in sorted(Path(d).glob("touched.*")))])
        self.assertEqual(code, 0)
        self.assertEqual(
            [line for line in out.getvalue().splitlines() if not line.startswith("#")],
            [
                "data *.rcgu.o(.rodata..Lanon.f4bc22c9b9a32bc82ed9e5cf774a0d03.10)",
                "data *(.rodata.cst16)",
                "function health 0",
                "function me 0-1",
            ],
        )


class PlatformInitErrorTest(unittest.TestCase):
    """A platform function that cannot start reports why on /init/error, then exits."""

    def test_a_function_without_its_configuration_reports_an_init_error(self):
        binary = require_binary(self, "PERF_FUNCTION_BIN", "health", "cargo build --profile perf-quick -p functions --bin health")
        api = RuntimeApi(function_name="health", timeout_seconds=10).start()
        self.addCleanup(api.stop)
        env = {"PATH": os.environ.get("PATH", ""), "AWS_LAMBDA_RUNTIME_API": api.address, "AWS_LAMBDA_FUNCTION_NAME": "health"}
        proc = subprocess.Popen([str(binary)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        self.assertTrue(api.wait_init_error(10), "no /init/error")
        self.assertEqual(api.init_error.error_type, "Runtime.InitError")
        # Which variable it names first depends on the check order: it must name what to set.
        self.assertRegex(json.loads(api.init_error.body)["errorMessage"], r"set (AWS_REGION|APP_ENV|TABLE_NAME)")
        self.assertNotEqual(proc.wait(10), 0)
        self.assertIsNone(api.first_next_at, "it must not ask for an event after failing")


class TemplateEnvironmentTest(unittest.TestCase):
    """The harness gives each function the variables of its own `Environment` block."""

    def test_a_function_gets_its_variables_and_comments_are_skipped(self):
        import harness

        # audit-verify's block has a comment line above its one variable.
        self.assertEqual(harness.function_variables("audit-verify"), ["CURSOR_KEY_SECRET_ID"])
        self.assertEqual(harness.function_variables("audit-list"), ["CURSOR_KEY_SECRET_ID"])
        self.assertEqual(harness.function_variables("health"), [])


class RealBinaryTest(unittest.TestCase):
    """The bare lambda_http function (lambda_runtime 1.5) against the emulator."""

    def setUp(self):
        self.binary = require_binary(self, "PERF_BARE_BIN", "bare", BARE_BUILD)
        self.api = RuntimeApi(function_name="bare", timeout_seconds=10).start()
        self.addCleanup(self.api.stop)
        env = {
            "PATH": os.environ.get("PATH", ""),
            "AWS_LAMBDA_RUNTIME_API": self.api.address,
            "AWS_LAMBDA_FUNCTION_NAME": "bare",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_REGION": "eu-central-1",
        }
        self.proc = subprocess.Popen([str(self.binary)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

        def stop():
            self.proc.kill()
            self.proc.wait()
            self.proc.stderr.close()

        self.addCleanup(stop)

    def test_an_api_gateway_event_gets_its_answer_on_response(self):
        self.assertTrue(self.api.wait_first_next(10), "the binary never called next")
        event = (ROOT / "events" / "health.json").read_text()
        for _ in range(3):
            inv = self.api.invoke(event, timeout=10)
            self.assertEqual(inv.outcome, "response")
            self.assertEqual(inv.json()["statusCode"], 200)
            self.assertEqual(json.loads(inv.json()["body"]), {"ok": True})

    def test_an_event_it_cannot_read_reaches_error_and_the_function_goes_on(self):
        self.assertTrue(self.api.wait_first_next(10))
        bad = self.api.invoke("[1, 2, 3]", timeout=10)
        self.assertEqual(bad.outcome, "error")
        self.assertIn("errorType", bad.json())
        good = self.api.invoke((ROOT / "events" / "health.json").read_text(), timeout=10)
        self.assertEqual(good.outcome, "response")


if __name__ == "__main__":
    result = unittest.main(verbosity=2, exit=False).result
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    print(f"{result.testsRun - failed - skipped} passed, {failed} failed, {skipped} skipped")
    sys.exit(1 if failed or not result.wasSuccessful() else 0)
