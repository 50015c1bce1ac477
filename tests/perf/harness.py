#!/usr/bin/env python3
"""The performance harness: cold start, warm latency, memory, size and AWS calls of the Lambda
functions, each beside a bare lambda_http hello-world built with the same profile.

    python3 tests/perf/harness.py [--quick] [--profile release|perf-quick]
                                  [--functions health,me,users-list] [--out bench-results/]

For each function (and `bare` first) it builds the binary once with cargo, starts it as Lambda
does against the Runtime API emulator (runtime_api.py) with the AWS endpoints pointed at a
recording proxy (aws_proxy.py) in front of moto, feeds it its event from events/ with a fresh
valid token, and measures. See tests/perf/README.md for what every figure means.

Python 3.11 standard library, plus boto3 and cryptography from the repository's .venv (which
scripts/pytools.sh creates with moto[server]); run with plain python3, it re-executes itself
under .venv/bin/python.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
VENV_PY = ROOT / ".venv" / "bin" / "python"

try:
    import boto3  # noqa: F401
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
except ImportError:  # pragma: no cover - re-exec under the venv that has moto, boto3, cryptography
    if VENV_PY.exists() and Path(sys.executable).resolve() != VENV_PY.resolve():
        os.execv(str(VENV_PY), [str(VENV_PY), *sys.argv])
    sys.exit("boto3/cryptography not found: run `bash scripts/pytools.sh` to create .venv first")

sys.path.insert(0, str(HERE))
from aws_proxy import AwsProxy  # noqa: E402
from runtime_api import RuntimeApi  # noqa: E402

REGION = "eu-central-1"
MEMORY_MB = 256  # template.yaml Globals
ISSUER = "https://auth.perf.test/"
AUDIENCE = "travel-api"
BARE = "bare"
MOTO_RSS_LIMIT_KB = 4 * 1024**2  # a guard for the machine: moto's memory grows with each transaction
B32 = "abcdefghijklmnopqrstuvwxyz234567"


def log(msg: str) -> None:
    print(f"[perf] {msg}", file=sys.stderr, flush=True)


def b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def random_id(prefix: str) -> str:
    return prefix + "_" + "".join(B32[b % 32] for b in os.urandom(16))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))
    return s[k]


# --------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------
def target_dir() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def profile_dir(profile: str) -> Path:
    return target_dir() / ("debug" if profile in ("dev", "test") else profile)


def build(profile: str, functions: list[str]) -> None:
    cmds = [["cargo", "build", "--profile", profile, "-p", "bare-lambda", "--bin", BARE]]
    if functions:
        cmd = ["cargo", "build", "--profile", profile, "-p", "functions"]
        for f in functions:
            cmd += ["--bin", f]
        cmds.append(cmd)
    for cmd in cmds:  # two invocations so bare's features are not unified with the functions'
        log("$ " + " ".join(cmd))
        t = time.perf_counter()
        subprocess.run(["nice", "-n", "19", *cmd], cwd=ROOT, check=True)
        log(f"built in {time.perf_counter() - t:.1f} s")


def stripped_size(binary: Path) -> int:
    strip = shutil.which("strip")
    if not strip:
        return binary.stat().st_size
    with tempfile.TemporaryDirectory() as d:
        copy = Path(d) / binary.name
        shutil.copyfile(binary, copy)
        subprocess.run([strip, str(copy)], check=True, capture_output=True)
        return os.path.getsize(copy)


# --------------------------------------------------------------------------------------------
# moto, resources, seed data, tokens
# --------------------------------------------------------------------------------------------
class Moto:
    def __init__(self):
        exe = ROOT / ".venv" / "bin" / "moto_server"
        if not exe.exists():
            sys.exit("moto_server not found in .venv: run `bash scripts/pytools.sh` first")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="moto.", suffix=".log", delete=False)
        self.proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(self.port)], stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(150):
            try:
                urllib.request.urlopen(self.url + "/moto-api/", timeout=1)
                return
            except OSError:
                if self.proc.poll() is not None:
                    sys.exit("moto failed to start: " + Path(self.log.name).read_text())
                time.sleep(0.2)
        sys.exit("moto did not answer")

    def reset(self):
        urllib.request.urlopen(urllib.request.Request(self.url + "/moto-api/reset", method="POST"), timeout=30).read()

    def rss_kb(self) -> int:
        return read_status(self.proc.pid).get("VmRSS", 0)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.unlink(self.log.name)


CREDS = {"AWS_ACCESS_KEY_ID": "AKIAPERFHARNESS00000", "AWS_SECRET_ACCESS_KEY": "perf-harness-secret", "AWS_SESSION_TOKEN": "perf-harness-session"}


class World:
    """The AWS resources and seed data every function of a run shares."""

    def __init__(self, moto_url: str, proxy_url: str):
        import boto3
        from boto3.dynamodb.types import TypeSerializer

        session = boto3.session.Session(
            aws_access_key_id=CREDS["AWS_ACCESS_KEY_ID"], aws_secret_access_key=CREDS["AWS_SECRET_ACCESS_KEY"], region_name=REGION
        )
        ddb = session.client("dynamodb", endpoint_url=moto_url)
        sm = session.client("secretsmanager", endpoint_url=moto_url)
        kms = session.client("kms", endpoint_url=moto_url)
        s3 = session.client("s3", endpoint_url=moto_url)
        run = uuid.uuid4().hex[:8]
        self.table = f"perf-{run}"
        ddb.create_table(
            TableName=self.table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gsi1pk", "gsi1sk")],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "gsi1",
                    "KeySchema": [{"AttributeName": "gsi1pk", "KeyType": "HASH"}, {"AttributeName": "gsi1sk", "KeyType": "RANGE"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        )
        self.key_id = kms.create_key(Description="perf app key")["KeyMetadata"]["Arn"]
        self.bucket = f"perf-archive-{run}"
        s3.create_bucket(Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": REGION})

        # Signing key and JWKS, as shared::auth::token stores them.
        self._key = Ed25519PrivateKey.generate()
        self.kid = "kperf" + run
        public = self._key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        pkcs8 = self._key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        jwks = {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": self.kid, "x": b64url(public), "use": "sig", "alg": "EdDSA"}]}
        self.secrets = {
            "VERIFICATION_KEYS_SECRET_ID": (f"perf/{run}/verification-keys", json.dumps(jwks)),
            "SIGNING_KEY_SECRET_ID": (f"perf/{run}/signing-key", json.dumps({"kid": self.kid, "private_key_pkcs8": base64.b64encode(pkcs8).decode()})),
            "CURSOR_KEY_SECRET_ID": (f"perf/{run}/cursor-key", "".join(B32[b % 32] for b in os.urandom(52))),
            "SLACK_WEBHOOK_SECRET_ID": (f"perf/{run}/slack-webhook", json.dumps({"url": proxy_url + "/__webhook"})),
        }
        for name, value in self.secrets.values():
            sm.create_secret(Name=name, SecretString=value)

        # Seed data: one active tenant, its company admin (the caller) and a traveler (the
        # target of the /users/{id} events), as shared::domain stores them.
        now = "2026-01-01T00:00:00Z"
        self.tenant = random_id("t")
        self.admin = random_id("u")
        self.other = random_id("u")
        ser = TypeSerializer()

        def put(pk, sk, body, gsi=None):
            item = {"pk": {"S": pk}, "sk": {"S": sk}, "version": {"N": "1"}, "body": ser.serialize(body)}
            if gsi:
                item["gsi1pk"], item["gsi1sk"] = {"S": gsi[0]}, {"S": gsi[1]}
            ddb.put_item(TableName=self.table, Item=item)

        put("PLATFORM#TENANT", self.tenant, {"id": self.tenant, "name": "Perf Travel GmbH", "status": "active", "created_at": now, "updated_at": now})
        put(f"{self.tenant}#COMPANY", "SETTINGS", {"name": "Perf Travel GmbH", "departments": ["Sales"]})
        for uid, email, roles in ((self.admin, "admin@perf.test", ["company_admin"]), (self.other, "traveler@perf.test", ["traveler"])):
            body = {
                "id": uid,
                "tenant_id": self.tenant,
                "email": email,
                "name": email.split("@")[0].title(),
                "roles": roles,
                "status": "active",
                # Not a hash of anything: sign-in with any password fails (the event is measured anyway).
                "password_hash": "$argon2id$v=19$m=19456,t=2,p=1$cGVyZnBlcmZwZXJm$" + "A" * 43,
                "created_at": now,
                "updated_at": now,
            }
            put(f"{self.tenant}#USER", uid, body, gsi=(f"{self.tenant}#USER_BY_EMAIL", email))
            put(f"LOGIN#{email}", "LOGIN", {"tenant_id": self.tenant, "user_id": uid})

    def token(self, lifetime: int = 15 * 60) -> str:
        now = int(time.time())
        header = {"alg": "EdDSA", "typ": "JWT", "kid": self.kid}
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": self.admin,
            "tid": self.tenant,
            "roles": ["company_admin"],
            "amr": ["pwd", "otp"],
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "jti": uuid.uuid4().hex[:16],
        }
        signing_input = b64url(json.dumps(header, separators=(",", ":")).encode()) + "." + b64url(json.dumps(claims, separators=(",", ":")).encode())
        return signing_input + "." + b64url(self._key.sign(signing_input.encode()))

    def config_env(self, function: str) -> dict[str, str]:
        """template.yaml's Globals plus the function's own variables, with this run's resources."""
        env = {
            "APP_ENV": "test",
            "TABLE_NAME": self.table,
            "TOKEN_ISSUER": ISSUER,
            "TOKEN_AUDIENCE": AUDIENCE,
            "ALLOWED_ORIGINS": "http://localhost:5173",
            "VERIFICATION_KEYS_SECRET_ID": self.secrets["VERIFICATION_KEYS_SECRET_ID"][0],
            "DATA_KEY_ID": self.key_id,
            "SLACK_WEBHOOK_SECRET_ID": self.secrets["SLACK_WEBHOOK_SECRET_ID"][0],
            "AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH": "true",
            "RUST_LOG": "info",
        }
        values = {k: v[0] for k, v in self.secrets.items()} | {"BUCKET_NAME": self.bucket}
        for var in function_variables(function):
            if var in values:
                env[var] = values[var]
        return env

    def event(self, function: str) -> str:
        path = ROOT / "events" / f"{function}.json"
        if not path.exists():
            raise FileNotFoundError(f"no event file {path}")
        text = path.read_text()
        subs = {
            "{{token}}": self.token(),
            "{{email}}": "admin@perf.test",
            "{{password}}": "not-the-password",
            "{{totp}}": "000000",
            "t_demo0000000001": self.tenant,
            "u_demo0000000001": self.other,
        }
        for k, v in subs.items():
            text = text.replace(k, v)
        return json.dumps(json.loads(text))


def function_variables(function: str) -> list[str]:
    """The variable names of the function's own `Environment` block in template.yaml."""
    lines = (ROOT / "template.yaml").read_text().splitlines()
    marker = f'FunctionName: !Sub "${{AWS::StackName}}-{function}"'
    out: list[str] = []
    for i, line in enumerate(lines):
        if line.strip() == marker:
            in_vars = False
            for l2 in lines[i + 1 :]:
                if l2.startswith("  ") and not l2.startswith("   ") and l2.strip().endswith(":"):
                    break  # next resource
                s = l2.strip()
                if s == "Variables:":
                    in_vars = True
                    continue
                if in_vars:
                    if len(l2) - len(l2.lstrip()) < 10 or ":" not in s:
                        in_vars = False
                        continue
                    out.append(s.split(":", 1)[0])
            break
    return out


BARE_EVENT = json.dumps(json.loads((ROOT / "events" / "health.json").read_text()))


# --------------------------------------------------------------------------------------------
# Measuring one function
# --------------------------------------------------------------------------------------------
def read_status(pid: int) -> dict[str, int]:
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            k, _, v = line.partition(":")
            if k in ("VmHWM", "VmRSS"):
                out[k] = int(v.split()[0])  # kB
    except OSError:
        pass
    return out


def status_of(inv) -> str:
    if inv.outcome != "response":
        return f"error:{inv.error_type or '?'}"
    try:
        code = inv.json().get("statusCode")
    except (ValueError, AttributeError):
        code = None
    return "answered" if code is None else str(code)  # not an HTTP function (authorizer, jobs)


def fresh_event(template: str) -> str:
    """The event with a new API Gateway request id (the pipeline audits by it)."""
    e = json.loads(template)
    if isinstance(e.get("requestContext"), dict):
        e["requestContext"]["requestId"] = str(uuid.uuid4())
    return json.dumps(e)


def measure(name: str, binary: Path, world: World | None, proxy: AwsProxy, warm: int, logdir: Path, moto: "Moto | None" = None) -> dict:
    api = RuntimeApi(function_name=name, timeout_seconds=30).start()
    event = BARE_EVENT if world is None else world.event(name)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(MEMORY_MB),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]perf",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": "AWS_Lambda_provided.al2023",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": proxy.url,
        "AWS_EC2_METADATA_DISABLED": "true",
        "_HANDLER": "bootstrap",
        "LAMBDA_TASK_ROOT": str(binary.parent),
        "TZ": ":UTC",
        **CREDS,
    }
    if world is not None:
        env |= world.config_env(name)
    result: dict = {"function": name, "binary": str(binary.relative_to(ROOT) if binary.is_relative_to(ROOT) else binary)}
    result["size_bytes"] = stripped_size(binary)
    stderr_path = logdir / f"{name}.log"
    mark0 = proxy.mark()
    first = api.submit(fresh_event(event))  # queued before start, as for a cold invoke
    with open(stderr_path, "wb") as errf:
        t0 = time.perf_counter()
        proc = subprocess.Popen([str(binary)], env=env, stdout=errf, stderr=subprocess.STDOUT, cwd=binary.parent)
    try:
        deadline = t0 + 30
        while not api.wait_first_next(0.05):
            if proc.poll() is not None or api.init_error or time.perf_counter() > deadline:
                break
        if api.first_next_at is None:
            reason = (
                f"init error {api.init_error.error_type}: {api.init_error.body[:300]!r}"
                if api.init_error
                else f"exited with {proc.returncode} before its first next call"
                if proc.poll() is not None
                else "no next call within 30 s"
            )
            result["error"] = reason
            log(f"{name}: {reason} (log: {stderr_path})")
            return result
        result["init_ms"] = (api.first_next_at - t0) * 1000
        if not first.wait(30):
            result["error"] = "no answer to the first invocation"
            return result
        result["first_response_ms"] = (first.done_at - t0) * 1000
        init_calls = [c for c in proxy.since(mark0) if c.start < api.first_next_at]
        cold_calls = [c for c in proxy.since(mark0) if c.start >= api.first_next_at]
        result["aws_init"] = dict(Counter(c.key for c in init_calls))
        result["aws_first_invocation"] = dict(Counter(c.key for c in cold_calls))
        statuses = Counter([status_of(first)])
        result["first_status"] = status_of(first)
        result["first_body"] = first.body[:300].decode("utf-8", "replace")

        lat, lat_ex, per_inv = [], [], Counter()
        aws_counts = []
        for i in range(warm):
            if moto is not None and i % 100 == 99 and moto.rss_kb() > MOTO_RSS_LIMIT_KB:
                result["error"] = f"moto grew past {MOTO_RSS_LIMIT_KB // 1024**2} GB after {i} warm invocations; stopped"
                break
            payload = fresh_event(event)
            m = proxy.mark()
            inv = api.submit(payload)
            if not inv.wait(30):
                result["error"] = "a warm invocation got no answer within 30 s"
                break
            calls = proxy.since(m)
            aws_s = sum(c.seconds for c in calls)
            lat.append(inv.latency * 1000)
            lat_ex.append((inv.latency - aws_s) * 1000)
            per_inv.update(c.key for c in calls)
            aws_counts.append(len(calls))
            statuses[status_of(inv)] += 1
        result["warm_invocations"] = len(lat)
        result["statuses"] = dict(statuses)
        if lat:
            result["warm_p50_ms"] = percentile(lat, 50)
            result["warm_p99_ms"] = percentile(lat, 99)
            result["warm_mean_ms"] = statistics.fmean(lat)
            result["warm_p50_excl_aws_ms"] = percentile(lat_ex, 50)
            result["warm_p99_excl_aws_ms"] = percentile(lat_ex, 99)
            result["aws_per_warm_invocation"] = {k: v / len(lat) for k, v in sorted(per_inv.items())}
            result["aws_calls_per_warm_invocation"] = sum(aws_counts) / len(lat)
        mem = read_status(proc.pid)
        result["peak_rss_kb"] = mem.get("VmHWM")
        result["rss_kb"] = mem.get("VmRSS")
        result["aws_calls_init"] = len(init_calls)
        if api.unknown_posts:
            result["error"] = f"answers to unknown request ids: {api.unknown_posts[:3]}"
        return result
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        api.stop()


# --------------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------------
FIGURES = [
    ("init_ms", "init ms", "{:.2f}"),
    ("first_response_ms", "first response ms", "{:.2f}"),
    ("warm_p50_ms", "warm p50 ms", "{:.3f}"),
    ("warm_p99_ms", "warm p99 ms", "{:.3f}"),
    ("warm_p50_excl_aws_ms", "warm p50 excl. AWS ms", "{:.3f}"),
    ("peak_rss_kb", "peak RSS MB", None),
    ("size_bytes", "stripped size MB", None),
    ("aws_calls_init", "AWS calls in init", "{:g}"),
    ("aws_calls_per_warm_invocation", "AWS calls / warm inv.", "{:.2f}"),
]


def fmt_value(key: str, v) -> str:
    if v is None:
        return "–"
    if key == "peak_rss_kb":
        return f"{v / 1024:.1f}"
    if key == "size_bytes":
        return f"{v / 1e6:.2f}"
    return dict((k, f) for k, _, f in FIGURES)[key].format(v)


def add_ratios(results: list[dict]) -> None:
    bare = next((r for r in results if r["function"] == BARE), None)
    for r in results:
        r["ratio_to_bare"] = {}
        for key, _, _ in FIGURES:
            a, b = r.get(key), (bare or {}).get(key)
            r["ratio_to_bare"][key] = (a / b) if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else None


def markdown(results: list[dict], meta: dict) -> str:
    out = [
        f"# Lambda performance ({meta['profile']} profile, {meta['warm']} warm invocations)",
        "",
        f"{meta['date']}, {meta['host']}, {meta['cpus']} CPUs. Each cell: value (ratio to `bare`). "
        f"Memory size {MEMORY_MB} MB in the environment; AWS answered by moto through a recording proxy on loopback.",
        "",
        "| function | " + " | ".join(label for _, label, _ in FIGURES) + " | statuses |",
        "|---" * (len(FIGURES) + 2) + "|",
    ]
    for r in results:
        cells = []
        for key, _, _ in FIGURES:
            v = fmt_value(key, r.get(key))
            ratio = r.get("ratio_to_bare", {}).get(key)
            cells.append(v if r["function"] == BARE or v == "–" else f"{v} ({ratio:.1f}×)" if ratio is not None else f"{v} (n/a)")
        st = ", ".join(f"{k}×{v}" for k, v in sorted(r.get("statuses", {}).items())) or r.get("error", "")
        if r.get("error"):
            st = f"**{r['error']}** {st}"
        out.append(f"| {r['function']} | " + " | ".join(cells) + f" | {st} |")
    out += ["", "AWS requests by service and operation (init / first invocation / mean per warm invocation):", ""]
    out += ["| function | init | first invocation | per warm invocation |", "|---|---|---|---|"]
    for r in results:
        def fmt(d, f="{:g}"):
            return ", ".join(f"{k} {f.format(v)}" for k, v in sorted((d or {}).items())) or "none"
        out.append(f"| {r['function']} | {fmt(r.get('aws_init'))} | {fmt(r.get('aws_first_invocation'))} | {fmt(r.get('aws_per_warm_invocation'), '{:.2f}')} |")
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a short run (50 warm invocations) to keep the harness working")
    ap.add_argument("--profile", default="release", help="cargo profile (release, perf-quick, or dev for debug binaries)")
    ap.add_argument("--functions", default="health,me,users-list", help="comma-separated function names (binaries of functions/)")
    ap.add_argument("--out", default="bench-results", help="directory for perf.md and perf.json")
    ap.add_argument("--warm", type=int, help="warm invocations (default 1000, 50 with --quick)")
    ap.add_argument("--no-build", action="store_true", help="use the binaries already in target/<profile>/")
    ap.add_argument("--require-2xx", action="store_true", help="fail unless every answer of every function is 2xx")
    args = ap.parse_args(argv)
    warm = args.warm or (50 if args.quick else 1000)
    functions = [f.strip() for f in args.functions.split(",") if f.strip() and f.strip() != BARE]
    out = Path(args.out)
    out = out if out.is_absolute() else ROOT / out
    out.mkdir(parents=True, exist_ok=True)
    logdir = out / "logs"
    logdir.mkdir(exist_ok=True)

    if not args.no_build:
        build(args.profile, functions)
    bins = profile_dir(args.profile)
    moto = Moto()
    proxy = AwsProxy(moto.url).start()
    results = []
    try:
        log(f"moto on {moto.url}, proxy on {proxy.url}")
        for name in [BARE, *functions]:
            binary = bins / name
            if not binary.exists():
                results.append({"function": name, "error": f"no binary {binary}"})
                continue
            # A fresh table, key and secrets per function: moto slows down as a table grows
            # (every authenticated request appends an audit event), so order must not matter.
            # moto's TransactWriteItems deep-copies every table it holds, so its time and memory
            # grow with all the data of the run: reset moto between functions.
            moto.reset()
            world = None if name == BARE else World(moto.url, proxy.url)
            log(f"{name}: measuring ({warm} warm invocations)")
            r = measure(name, binary, world, proxy, warm, logdir, moto)
            results.append(r)
            log(
                f"{name}: init {r.get('init_ms', float('nan')):.2f} ms, first {r.get('first_response_ms', float('nan')):.2f} ms, "
                f"p50 {r.get('warm_p50_ms', float('nan')):.3f} ms, statuses {r.get('statuses')} {r.get('error', '')}"
            )
    finally:
        proxy.stop()
        moto.stop()
    add_ratios(results)
    meta = {
        "profile": args.profile,
        "warm": warm,
        "quick": args.quick,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "host": socket.gethostname(),
        "cpus": os.cpu_count(),
        "memory_mb": MEMORY_MB,
    }
    md = markdown(results, meta)
    (out / "perf.md").write_text(md)
    (out / "perf.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    print(md)
    log(f"wrote {out / 'perf.md'} and {out / 'perf.json'}")
    failed = [r["function"] for r in results if r.get("error")]
    if args.require_2xx:
        failed += [r["function"] for r in results if any(not (k.startswith("2") or k == "answered") for k in r.get("statuses", {}))]
    if failed:
        log(f"FAILED: {', '.join(sorted(set(failed)))}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
