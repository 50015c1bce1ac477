#!/usr/bin/env python3
"""The performance harness: cold start, warm latency, memory, size and AWS calls of the Lambda
functions, each beside a bare lambda_http hello-world built with the same profile.

    python3 tests/perf/harness.py [--quick] [--profile release|perf-quick]
                                  [--functions health,me,users-list | --functions all]
                                  [--bin-dir DIR] [--out bench-results/]

For each function (and `bare` first) it builds the binary once with cargo (or takes it from
--bin-dir), seeds a fresh moto with the platform's own code (platform-admin, then function
binaries as helpers: demo companies, users, policy, bookings, profiles), starts the function as
Lambda does against the Runtime API emulator (runtime_api.py) with the AWS endpoints pointed at a
recording proxy (aws_proxy.py) in front of moto, feeds it its event from events/ with the
placeholders filled for the route's role (scenarios.py), and measures. See tests/perf/README.md
for what every figure means.

Python 3.11 standard library, plus boto3 and cryptography from the repository's .venv (which
scripts/pytools.sh creates with moto[server]); run with plain python3, it re-executes itself
under .venv/bin/python.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import re
import os
import shutil
import shlex
import signal
import socket
import statistics
import struct
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
from scenarios import (  # noqa: E402
    BARE,
    BARE_SDK,
    OPERATOR_TOOL,
    Scenario,
    all_functions,
    covered_seconds,
    ed25519_seed,
    fill,
    helper_functions,
    is_success,
    make_unique,
    scenario,
    select_functions,
    status_of_body,
    totp_code,
)

REGION = "eu-central-1"
MEMORY_MB = 256  # template.yaml Globals
ISSUER = "https://auth.perf.test/"
AUDIENCE = "travel-api"
MOTO_RSS_LIMIT_KB = 4 * 1024**2  # a guard for the machine: moto's memory grows with each transaction
B32 = "abcdefghijklmnopqrstuvwxyz234567"


def log(msg: str) -> None:
    print(f"[perf] {msg}", file=sys.stderr, flush=True)


def b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def random_id(prefix: str) -> str:
    """An id as shared::ids makes them: prefix, underscore, 16 base32 characters."""
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
    """Four cargo invocations, so that neither the yardsticks' nor the operator tool's
    dependency features are unified with the functions': bare; bare-sdk; the measured functions
    with the helpers seeding runs; platform-admin (package local-api), which seeds."""
    bins = sorted(set(functions) | set(helper_functions(functions)))
    cmds = [
        ["cargo", "build", "--profile", profile, "-p", "bare-lambda", "--bin", BARE],
        ["cargo", "build", "--profile", profile, "-p", "bare-sdk-lambda", "--bin", BARE_SDK],
        ["cargo", "build", "--profile", profile, "-p", "functions", *[a for f in bins for a in ("--bin", f)]],
        ["cargo", "build", "--profile", profile, "-p", "local-api", "--bin", OPERATOR_TOOL],
    ]
    for cmd in cmds:
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


def elf_sections(binary: Path) -> list[tuple[str, int, int]]:
    """The sections an ELF64 binary loads: (name, address, size), from its section headers."""
    data = binary.read_bytes()
    if data[:5] != b"\x7fELF\x02":
        return []
    order = "<" if data[5] == 1 else ">"
    shoff, = struct.unpack_from(order + "Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from(order + "HHH", data, 0x3A)
    headers = [struct.unpack_from(order + "IIQQQQ", data, shoff + i * shentsize) for i in range(shnum)]
    names_at = headers[shstrndx][4]
    sections = []
    for name_offset, _kind, flags, addr, _offset, size in headers:
        if flags & 0x2:  # SHF_ALLOC
            name = data[names_at + name_offset : data.index(b"\0", names_at + name_offset)].decode()
            sections.append((name, addr, size))
    return sections


def code_sections_kb(binary: Path) -> dict[str, int]:
    """Sizes of the code sections (`.text`, and `.text.hot` where functions/build.rs laid the
    code that runs out together)."""
    return {name: round(size / 1024) for name, _, size in elf_sections(binary) if name in (".text", ".text.hot")}


ELF64_RELA_SIZE = 24


def relocations(binary: Path) -> int:
    """Entries of `.rela.dyn`, which the loader reads whole and applies at every start of a PIE
    binary (its pages and those of the data it patches stay resident)."""
    return sum(size for name, _, size in elf_sections(binary) if name == ".rela.dyn") // ELF64_RELA_SIZE


PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_by_section(pid: int, binary: Path) -> dict[str, int]:
    """Resident kB of each section of the function's own binary: which of its code, read-only
    data, relocations and relocated data the process holds (present bits of /proc/<pid>/pagemap,
    which a process's owner may read). A page shared by two sections counts for the first."""
    sections = sorted(elf_sections(binary), key=lambda s: s[1])
    out: Counter = Counter()
    try:
        maps = Path(f"/proc/{pid}/maps").read_text().splitlines()
        real = os.path.realpath(binary)
        with open(f"/proc/{pid}/pagemap", "rb") as pagemap:
            bias = None
            for line in maps:
                fields = line.split()
                if len(fields) < 6 or os.path.realpath(fields[5]) != real:
                    continue
                start, end = (int(x, 16) for x in fields[0].split("-"))
                if bias is None:  # the first mapping holds the ELF header: address 0 of the image
                    bias = start - int(fields[2], 16)
                pagemap.seek(start // PAGE * 8)
                entries = pagemap.read((end - start) // PAGE * 8)
                for i in range(len(entries) // 8):
                    if entries[i * 8 + 7] & 0x80:  # bit 63: present
                        page = start + i * PAGE - bias
                        name = next((n for n, a, z in sections if a + z > page and a < page + PAGE), "(headers)")
                        out[name] += PAGE // 1024
    except OSError:
        return {}
    return dict(out.most_common())


# Below this part of the code a function ran when it was recorded, its `.text.hot` shows that
# functions/hot-text.txt has stopped matching the build (a change of symbol mangling, say).
# Matched, `.text.hot` holds all of it and more (every instance of a generic that ran).
HOT_TEXT_FLOOR = 0.5


def recorded_kb(function: str, listing: Path = ROOT / "functions" / "hot-text.txt") -> int | None:
    """The KB of its own code a function ran when functions/hot-text.txt was recorded; for a
    function recorded later (it gets every entry), the least any function ran."""
    kb = {}
    for line in listing.read_text().splitlines():
        if line.startswith("function "):
            _, name, size, _ = line.split(" ")
            kb[name] = int(size)
    return kb.get(function, min(kb.values(), default=None))


def hot_text_short(result: dict) -> str | None:
    """Why a function's `.text.hot` is too small for its recorded code, or None."""
    want = recorded_kb(result["function"])
    have = result.get("code_kb", {}).get(".text.hot", 0)
    if want and have < HOT_TEXT_FLOOR * want:
        return f"{have} KB in .text.hot, under {HOT_TEXT_FLOOR:.0%} of the {want} KB of code it ran when recorded"
    return None


# --------------------------------------------------------------------------------------------
# moto, resources, seed data, tokens
# --------------------------------------------------------------------------------------------
class Moto:
    def __init__(self):
        python = ROOT / ".venv" / "bin" / "python"
        if not (ROOT / ".venv" / "bin" / "moto_server").exists():
            sys.exit("moto_server not found in .venv: run `bash scripts/pytools.sh` first")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="moto.", suffix=".log", delete=False)
        # moto with transactions rolled back item by item (see moto_server.py), so that a run's
        # cost does not grow with everything it has written.
        server = [str(python), str(HERE / "moto_server.py")]
        self.proc = subprocess.Popen([*server, "-H", "127.0.0.1", "-p", str(self.port)], stdout=self.log, stderr=subprocess.STDOUT)
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


class SeedError(RuntimeError):
    """Seeding or preparing an invocation failed: the function is reported with this error."""


def lambda_env(name: str, binary: Path, runtime_api: str, endpoint: str) -> dict[str, str]:
    """The environment Lambda gives a provided.al2023 function (without the function's own
    configuration), with every AWS endpoint at `endpoint`."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(MEMORY_MB),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]perf",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": "AWS_Lambda_provided.al2023",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
        "_HANDLER": "bootstrap",
        "LAMBDA_TASK_ROOT": str(binary.parent),
        "TZ": ":UTC",
        **CREDS,
    }


class Helper:
    """A function binary run to seed or prepare, not measured: its own Runtime API emulator,
    AWS straight to moto (its calls are not recorded), no Slack webhook (its alerts are logged)."""

    def __init__(self, name: str, binary: Path, config: dict[str, str], moto_url: str, log):
        if not binary.exists():
            raise SeedError(f"no binary {binary} (needed to seed)")
        self.name = name
        self.api = RuntimeApi(function_name=name, timeout_seconds=30).start()
        env = lambda_env(name, binary, self.api.address, moto_url) | config
        env.pop("SLACK_WEBHOOK_SECRET_ID", None)
        self.proc = subprocess.Popen([str(binary)], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=binary.parent)

    def invoke(self, event: dict) -> dict:
        inv = self.api.submit(json.dumps(event))
        if not inv.wait(30):
            raise SeedError(f"{self.name} (seeding) did not answer within 30 s")
        if inv.outcome != "response":
            raise SeedError(f"{self.name} (seeding) failed: {inv.body[:300]!r}")
        return inv.json()

    def http(self, event: dict, expect: tuple[int, ...] = (200, 201)) -> dict:
        """Calls an API function; returns the JSON body of an expected status, else raises."""
        answer = self.invoke(event)
        status, body = answer.get("statusCode"), answer.get("body") or ""
        if status not in expect:
            raise SeedError(f"{self.name} (seeding) answered {status}: {body[:300]}")
        return json.loads(body) if body else {}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.api.stop()


def sdk_yardstick_table(moto_url: str) -> str:
    """The table bare-sdk reads (empty: its GetItem finds nothing, as a first read would)."""
    import boto3

    ddb = boto3.client(
        "dynamodb",
        endpoint_url=moto_url,
        region_name=REGION,
        aws_access_key_id=CREDS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDS["AWS_SECRET_ACCESS_KEY"],
    )
    name = f"yardstick-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    )
    return name


class World:
    """The AWS resources and seed data of one measured function (moto is reset before each).

    Resources as template.yaml declares them (table with the schema of
    shared::store::dynamo::create_table, KMS key, archive bucket, secrets), then the platform's
    own code seeds them: `platform-admin bootstrap-keys` (signing key, JWKS, cursor key) and
    `platform-admin seed-demo` (root admin, two demo companies with a user per role, settings,
    tenant data keys, KMS-sealed TOTP secrets), then the function binaries themselves (helpers,
    straight to moto) write the first company's travel data: a policy (version 1), a flight
    search, a confirmed and a pending booking, and the admin's and the executive's profiles
    (restricted fields such as the passport sealed with the tenant's KMS-wrapped data key).
    Tokens are signed with the signing key bootstrap-keys made, as auth-login signs them."""

    def __init__(self, moto_url: str, proxy_url: str, bins: Path, log):
        import boto3

        self.moto_url, self.bins, self.log = moto_url, bins, log
        session = boto3.session.Session(
            aws_access_key_id=CREDS["AWS_ACCESS_KEY_ID"], aws_secret_access_key=CREDS["AWS_SECRET_ACCESS_KEY"], region_name=REGION
        )
        self.ddb = session.client("dynamodb", endpoint_url=moto_url)
        self.sm = session.client("secretsmanager", endpoint_url=moto_url)
        kms = session.client("kms", endpoint_url=moto_url)
        s3 = session.client("s3", endpoint_url=moto_url)
        run = uuid.uuid4().hex[:8]
        self.table = f"perf-{run}"
        self.ddb.create_table(
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
        # As the stack creates them: the key secrets without a value (bootstrap-keys fills
        # them), the Slack webhook pointing at the proxy's /__webhook (an alert is counted, never sent).
        self.secrets = {
            "VERIFICATION_KEYS_SECRET_ID": (f"perf/{run}/verification-keys", None),
            "SIGNING_KEY_SECRET_ID": (f"perf/{run}/signing-key", None),
            "CURSOR_KEY_SECRET_ID": (f"perf/{run}/cursor-key", None),
            "SLACK_WEBHOOK_SECRET_ID": (f"perf/{run}/slack-webhook", json.dumps({"url": proxy_url + "/__webhook"})),
        }
        for name, value in self.secrets.values():
            self.sm.create_secret(Name=name, **({"SecretString": value} if value else {}))
        self.helpers: dict[str, Helper] = {}
        self.today = dt.datetime.now(dt.timezone.utc).date()
        self._tokens: dict[str, tuple[float, str]] = {}
        self._templates: dict[str, str] = {}
        self.offer_in = self.offer_out = self.booking_confirmed = self.booking_pending = ""
        self._bookings = 0

    def seed(self) -> None:
        """Keys and demo data by platform-admin, travel data by the functions themselves."""
        self.operator("bootstrap-keys")
        demo = self.operator("seed-demo")
        self.users = DemoUsers(demo["users"])
        signing = json.loads(self.sm.get_secret_value(SecretId=self.secrets["SIGNING_KEY_SECRET_ID"][0])["SecretString"])
        self.kid = signing["kid"]
        self._key = Ed25519PrivateKey.from_private_bytes(ed25519_seed(base64.b64decode(signing["private_key_pkcs8"])))
        jwks = json.loads(self.sm.get_secret_value(SecretId=self.secrets["VERIFICATION_KEYS_SECRET_ID"][0])["SecretString"])
        public = b64url(self._key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
        if not any(k.get("kid") == self.kid and k.get("x") == public for k in jwks.get("keys", [])):
            raise SeedError("the signing key bootstrap-keys stored is not in the JWKS it published")
        self.tenant = self.users["admin"]["tenant_id"]
        self.seed_travel()

    # -- the operator tool and helpers --------------------------------------------------------
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

    def operator(self, *args: str) -> dict:
        """Runs `platform-admin` (local/src/bin/platform-admin.rs) on this world, straight to moto."""
        binary = self.bins / OPERATOR_TOOL
        if not binary.exists():
            raise SeedError(f"no binary {binary} (needed to seed)")
        env = lambda_env(OPERATOR_TOOL, binary, "", self.moto_url)
        del env["AWS_LAMBDA_RUNTIME_API"]
        # The operator's configuration: every key secret, the data key, no Slack.
        env |= self.config_env(OPERATOR_TOOL) | {k: v[0] for k, v in self.secrets.items() if k != "SLACK_WEBHOOK_SECRET_ID"}
        env.pop("SLACK_WEBHOOK_SECRET_ID", None)
        env["RUST_LOG"] = "warn"
        r = subprocess.run([str(binary), *args], env=env, capture_output=True, timeout=120)
        self.log.write(r.stderr)
        self.log.flush()
        if r.returncode != 0:
            raise SeedError(f"platform-admin {' '.join(args)} failed ({r.returncode}): {r.stderr[-300:]!r}")
        return json.loads(r.stdout)

    def helper(self, function: str) -> Helper:
        if function not in self.helpers:
            self.helpers[function] = Helper(function, self.bins / function, self.config_env(function), self.moto_url, self.log)
        return self.helpers[function]

    def call(self, function: str, caller: str, body=None, tag: str | None = None, expect=(200, 201), **values) -> dict:
        """Calls API function `function` through a helper with its sample event, as `caller`,
        with `values` for the placeholders, `body` (a dict) instead of the sample's, and the
        unique fields of its scenario tagged with `tag`."""
        event = self.render(function, self.values(Scenario(caller=caller)) | values)
        if body is not None:
            event["body"] = json.dumps(body)
        if tag is not None:
            make_unique(event, scenario(function).unique, tag)
        return self.helper(function).http(event, expect)

    def stop_helpers(self) -> None:
        for h in self.helpers.values():
            h.stop()
        self.helpers.clear()

    def close(self) -> None:
        self.stop_helpers()

    # -- seed data ----------------------------------------------------------------------------
    def seed_travel(self) -> None:
        """The first company's travel data, written by the functions themselves."""
        self.call("policy-put", "admin", policy_version="0")
        search = self.render("search-flights", self.values(Scenario()))
        body = json.loads(search["body"])
        body.pop("cabin", None)  # every cabin: some in policy, some not
        search["body"] = json.dumps(body)
        offers = self.helper("search-flights").http(search)["offers"]
        self.offer_in = next((o["id"] for o in offers if o["policy"]["in_policy"]), None)
        self.offer_out = next((o["id"] for o in offers if not o["policy"]["in_policy"]), None)
        if not self.offer_in or not self.offer_out:
            raise SeedError(f"the seeded search found no {'in' if not self.offer_in else 'out-of'}-policy offer")
        self.booking_confirmed = self.book(self.offer_in, "confirmed")
        self.booking_pending = self.book(self.offer_out, "pending_approval")
        self.call("profile-me-put", "admin")
        self.call("profile-user-put", "arranger", user=self.users["executive"]["user_id"])
        self.stop_helpers()  # those needed again to prepare invocations start anew

    def book(self, offer: str, status: str) -> str:
        """A new booking of `offer` by the admin (a new Idempotency-Key each time)."""
        self._bookings += 1
        b = self.call("bookings-create", "admin", tag=f"seed{self._bookings}", offer_id=offer, expect=(201,))
        if b.get("status") != status:
            raise SeedError(f"a booking of {offer} is {b.get('status')}, not {status}")
        return b["id"]

    def stored(self, pk: str, sk: str) -> dict:
        """An item the platform wrote, as DynamoDB holds it."""
        item = self.ddb.get_item(TableName=self.table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True).get("Item")
        if item is None:
            raise SeedError(f"no item {pk} {sk}")
        return item

    def clone(self, pk: str, sk: str, new: str, old: str | None = None, status: str | None = None) -> str:
        """Copies an item the platform wrote, with every occurrence of `old` (default: its sort
        key, an id) in its keys and body replaced by `new`, straight to the table (no audit);
        `status` replaces the body's status. Returns `new`."""
        old = old or sk
        item = self.stored(pk, sk)

        def swap(v):
            if isinstance(v, str):
                return v.replace(old, new)
            if isinstance(v, dict):
                return {k: swap(x) for k, x in v.items()}
            if isinstance(v, list):
                return [swap(x) for x in v]
            return v

        item = swap(item)
        if status is not None:
            item["body"]["M"]["status"] = {"S": status}
        self.ddb.put_item(TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(pk)")
        return new

    def token(self, who: str) -> str:
        """A token of demo user `who` as auth-login issues it (roles from its record; amr pwd,
        plus otp for the admin roles), re-signed when five minutes old."""
        cached = self._tokens.get(who)
        if cached and time.time() - cached[0] < 300:
            return cached[1]
        user = self.users[who]
        now = int(time.time())
        header = {"alg": "EdDSA", "typ": "JWT", "kid": self.kid}
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": user["user_id"]}
        if user["tenant_id"]:
            claims["tid"] = user["tenant_id"]
        claims |= {
            "roles": [user["role"]],
            "amr": ["pwd", "otp"] if user["role"] in ("root_admin", "company_admin") else ["pwd"],
            "iat": now,
            "nbf": now,
            "exp": now + 15 * 60,
            "jti": uuid.uuid4().hex[:16],
        }
        signing_input = b64url(json.dumps(header, separators=(",", ":")).encode()) + "." + b64url(json.dumps(claims, separators=(",", ":")).encode())
        token = signing_input + "." + b64url(self._key.sign(signing_input.encode()))
        self._tokens[who] = (now, token)
        return token

    # -- events -------------------------------------------------------------------------------
    def values(self, sc: Scenario) -> dict[str, str]:
        traveler = self.users["traveler"]
        return {
            "token": self.token(sc.caller) if sc.caller != "none" else "",
            "email": traveler["email"],
            "password": traveler["password"],
            "totp": "000000",
            "offer_id": self.offer_in,
            "booking_id": self.booking_confirmed,
            "policy_version": "1",
            "tenant": self.tenant,
            "user": self.users[sc.user]["user_id"],
        }

    def render(self, function: str, values: dict[str, str]) -> dict:
        if function not in self._templates:
            path = ROOT / "events" / f"{function}.json"
            if not path.exists():
                raise SeedError(f"no event file {path}")
            self._templates[function] = path.read_text()
        return json.loads(fill(self._templates[function], values, self.today))

    def event(self, function: str, i: int) -> str:
        """Invocation i's event (0: the cold one), after its preparation."""
        sc = scenario(function)
        values = self.values(sc) | self.prepare(sc.prepare, i)
        e = self.render(function, values)
        if sc.unique:
            make_unique(e, sc.unique, str(i))
        return fresh_event(json.dumps(e))

    def prepare(self, what: str | None, i: int) -> dict[str, str]:
        """Fresh state for a mutating function's invocation i (see PREPARE_HELPERS in
        scenarios.py); returns placeholder values."""
        if what is None:
            return {}
        if what == "pending-booking":
            new = self.clone(f"{self.tenant}#BOOKING", self.booking_pending, random_id("b"))
            # Its entry in the approval queue (`<created_at>#<id>`), as bookings-create writes it.
            created = self.stored(f"{self.tenant}#BOOKING", self.booking_pending)["body"]["M"]["created_at"]["S"]
            self.clone(f"{self.tenant}#APPROVAL", f"{created}#{self.booking_pending}", new, old=self.booking_pending)
            return {"booking_id": new}
        if what == "suspended-tenant":
            # A copy of the second demo company (its record, suspended, and its data keys).
            source = self.users.tenants[1]
            tenant = self.clone("PLATFORM#TENANT", source, random_id("t"), status="suspended")
            for item in self.ddb.query(
                TableName=self.table, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": f"{source}#KEY"}}
            )["Items"]:
                self.clone(f"{source}#KEY", item["sk"]["S"], tenant, old=source)
            return {"tenant": tenant}
        if what == "policy-version":
            return {"policy_version": str(1 + i)}
        if what == "pending-totp":
            traveler = self.users["traveler"]
            if i == 0:
                self.totp_secret = self.call("auth-totp-enroll", "traveler")["secret"]
            else:  # verified by the last invocation: pending again, as a new enrolment leaves it
                self.ddb.update_item(
                    TableName=self.table,
                    Key={"pk": {"S": f"{traveler['tenant_id']}#USER"}, "sk": {"S": traveler["user_id"]}},
                    UpdateExpression="SET #b.#t.#c = :f",
                    ExpressionAttributeNames={"#b": "body", "#t": "totp", "#c": "confirmed"},
                    ExpressionAttributeValues={":f": {"BOOL": False}},
                )
            return {"totp": totp_code(self.totp_secret, time.time())}
        if what == "rotated-key":
            self.call("tenant-keys-rotate", "root")
            return {}
        if what == "new-audit-event":
            self.call("me", "admin")
            return {}
        raise ValueError(f"unknown preparation {what!r}")


class DemoUsers:
    """seed-demo's credentials by short name: root, and the first company's admin, traveler,
    executive, reporting and arranger (by the local part of their e-mail)."""

    def __init__(self, users: list[dict]):
        self.all = users
        self.tenants = list(dict.fromkeys(u["tenant_id"] for u in users if u.get("tenant_id")))  # in seeding order
        first = self.tenants[0]
        self.by_name = {}
        for u in users:
            if u["role"] == "root_admin":
                self.by_name["root"] = u
            elif u.get("tenant_id") == first:
                local = u["email"].split("@")[0]
                self.by_name["admin" if u["role"] == "company_admin" else local] = u

    def __getitem__(self, name: str) -> dict:
        if name not in self.by_name:
            raise SeedError(f"seed-demo made no {name} user")
        return self.by_name[name]


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
                    if s.startswith("#"):
                        continue
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
            if k in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
                out[k] = int(v.split()[0])  # kB
    except OSError:
        pass
    return out


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of the whole process so far (`/proc/<pid>/stat`, clock ticks)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # fields[0] is the state (field 3); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_by_mapping(pid: int) -> dict[str, int]:
    """Resident kB per mapping: file and permissions (`me r-xp`), [heap], [stack], [anon]; largest first."""
    out: Counter = Counter()
    name = "[anon]"
    try:
        for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
            fields = line.split()
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                path = fields[5] if len(fields) > 5 else "[anon]"
                name = f"{Path(path).name} {fields[1]}" if path.startswith("/") else path
            elif fields and fields[0] == "Rss:":
                out[name] += int(fields[1])
    except OSError:
        pass
    return dict(out.most_common())


def status_of(inv) -> str:
    if inv.outcome != "response":
        return f"error:{inv.error_type or '?'}"
    try:
        return status_of_body(inv.json())  # the HTTP status; allow/deny (authorizer); answered (jobs)
    except ValueError:
        return "answered"


def excerpt(inv, limit: int = 300) -> str:
    """The start of an answer: an HTTP answer's status and body, else the whole answer."""
    try:
        answer = inv.json()
        if isinstance(answer, dict) and isinstance(answer.get("body"), str):
            return f"{answer.get('statusCode')} {answer['body'][:limit]}"
    except ValueError:
        pass
    return inv.body[:limit].decode("utf-8", "replace")


def fresh_event(template: str) -> str:
    """The event with a new API Gateway request id (the pipeline audits by it)."""
    e = json.loads(template)
    if isinstance(e.get("requestContext"), dict):
        e["requestContext"]["requestId"] = str(uuid.uuid4())
    return json.dumps(e)


def measure(
    name: str,
    binary: Path,
    world: World | None,
    proxy: AwsProxy,
    warm: int,
    logdir: Path,
    moto: "Moto | None" = None,
    extra_env: dict[str, str] | None = None,
    yardstick: tuple[Path, dict] | None = None,
    launch_prefix: list[str] | None = None,
) -> dict:
    result: dict = {"function": name, "binary": str(binary.relative_to(ROOT) if binary.is_relative_to(ROOT) else binary)}

    def next_event(i: int) -> str:
        """Invocation i's event (0: the cold one), after its preparation (not timed)."""
        return fresh_event(BARE_EVENT) if world is None else world.event(name, i)

    try:
        first_event = next_event(0)
    except (SeedError, KeyError) as e:
        result["error"] = f"preparing the first invocation: {e}"
        log(f"{name}: {result['error']}")
        return result
    api = RuntimeApi(function_name=name, timeout_seconds=30).start()
    env = lambda_env(name, binary, api.address, proxy.url)
    if world is not None:
        env |= world.config_env(name)
    env |= extra_env or {}
    result["size_bytes"] = stripped_size(binary)
    result["code_kb"] = code_sections_kb(binary)
    result["relocations"] = relocations(binary)
    stderr_path = logdir / f"{name}.log"
    mark0 = proxy.mark()
    first = api.submit(first_event)  # queued before start, as for a cold invoke
    with open(stderr_path, "wb") as errf:
        t0 = time.perf_counter()
        # Under a profiler (--launch-prefix) only this run, the one whose warm calls are counted.
        proc = subprocess.Popen([*(launch_prefix or []), str(binary)], env=env, stdout=errf, stderr=subprocess.STDOUT, cwd=binary.parent)
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
        cold_calls = [c for c in proxy.settled_since(mark0) if c.start >= api.first_next_at]
        # The function's own share of its first answer: what it set up lazily on the request
        # path (credentials, TLS, the random generator's seeding) with moto's time taken out.
        cold_aws_s = covered_seconds([(c.start, min(c.start + c.seconds, first.done_at)) for c in cold_calls])
        result["first_response_excl_aws_ms"] = (first.done_at - t0 - cold_aws_s) * 1000
        result["aws_init"] = dict(Counter(c.key for c in init_calls))
        result["aws_first_invocation"] = dict(Counter(c.key for c in cold_calls))
        statuses = Counter([status_of(first)])
        result["first_status"] = status_of(first)
        result["first_body"] = excerpt(first)

        lat, lat_ex, per_inv, unsettled = [], [], Counter(), 0
        cpu_before = cpu_seconds(proc.pid)
        aws_counts = []
        for i in range(1, warm + 1):
            if moto is not None and i % 100 == 0 and moto.rss_kb() > MOTO_RSS_LIMIT_KB:
                result["error"] = f"moto grew past {MOTO_RSS_LIMIT_KB // 1024**2} GB after {i - 1} warm invocations; stopped"
                break
            try:
                payload = next_event(i)
            except (SeedError, KeyError) as e:
                result["error"] = f"preparing warm invocation {i}: {e}"
                break
            m = proxy.mark()
            inv = api.submit(payload)
            if not inv.wait(30):
                result["error"] = "a warm invocation got no answer within 30 s"
                break
            calls = proxy.settled_since(m)
            unsettled += sum(c.end is None for c in calls)
            # Clipped to the invocation: time outside it is in neither figure.
            aws_s = covered_seconds([(max(c.start, inv.queued_at), min(c.start + c.seconds, inv.done_at)) for c in calls])
            lat.append(inv.latency * 1000)
            lat_ex.append((inv.latency - aws_s) * 1000)
            per_inv.update(c.key for c in calls)
            aws_counts.append(len(calls))
            statuses[status_of(inv)] += 1
            if status_of(inv) != result["first_status"] and "other_body" not in result:
                result["other_body"] = excerpt(inv)  # the first answer whose status differs from the cold one's
        result["warm_invocations"] = len(lat)
        cpu_after = cpu_seconds(proc.pid)
        if lat and cpu_before is not None and cpu_after is not None:
            # What the function itself computed per call, whatever the proxy, moto and the
            # emulator cost in wall time (10 ms clock ticks over the whole run).
            result["warm_cpu_ms"] = (cpu_after - cpu_before) * 1000 / len(lat)
        if unsettled:
            add_error(result, f"{unsettled} AWS calls never answered by the proxy: their time counted as the function's")
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
        # What the resident set is: heap and stacks, or pages of the binary (and libc) mapped
        # from the file, which grow with the code a function runs, not with its data.
        result["rss_anon_kb"] = mem.get("RssAnon")
        result["rss_file_kb"] = mem.get("RssFile")
        result["rss_by_mapping_kb"] = rss_by_mapping(proc.pid)
        result["rss_by_section_kb"] = rss_by_section(proc.pid, binary)
        result["aws_calls_init"] = len(init_calls)
        if api.unknown_posts:
            add_error(result, f"answers to unknown request ids: {api.unknown_posts[:3]}")
        # One cold start is one sample of a few milliseconds, and bare's own init drifts by half
        # over a long run on a shared machine: start the binary again (no event, so the world is
        # untouched), alternately with bare, and report both medians.
        result["first_init_ms"] = result["init_ms"]
        inits, bare_inits = paired_inits(binary, env, yardstick)
        if len(inits) < INIT_REPEATS:
            add_error(result, f"{INIT_REPEATS - len(inits)} of {INIT_REPEATS} repeated cold starts never called next")
        result["init_ms_samples"] = inits
        if inits:
            result["init_ms"] = statistics.median(inits)
        if bare_inits:
            result["init_bare_paired_ms_samples"] = bare_inits
            result["init_bare_paired_ms"] = statistics.median(bare_inits)
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


INIT_REPEATS = 11


def add_error(result: dict, message: str) -> None:
    """Another reason the function's figures are not to be trusted, after any already noted."""
    result["error"] = f"{result['error']}; {message}" if result.get("error") else message


def repeat_inits(binary: Path, env: dict, n: int) -> list[float]:
    """Init times (ms) of n more cold starts: process start to the first `next`, then SIGKILL."""
    out = []
    for _ in range(n):
        api = RuntimeApi(function_name=binary.name, timeout_seconds=30).start()
        try:
            t0 = time.perf_counter()
            proc = subprocess.Popen([str(binary)], env=env | {"AWS_LAMBDA_RUNTIME_API": api.address},
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=binary.parent)
            if api.wait_first_next(10) and api.first_next_at is not None:
                out.append((api.first_next_at - t0) * 1000)
            proc.kill()
            proc.wait()
        finally:
            api.stop()
    return out


def paired_inits(binary: Path, env: dict, yardstick: tuple[Path, dict] | None) -> tuple[list[float], list[float]]:
    """Init times (ms) of INIT_REPEATS cold starts of `binary`, each right after one of the
    yardstick (bare) when given, so that both see the machine in the same state."""
    inits, bare_inits = [], []
    for _ in range(INIT_REPEATS):
        if yardstick is not None:
            bare_inits += repeat_inits(*yardstick, 1)
        inits += repeat_inits(binary, env, 1)
    return inits, bare_inits


# --------------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------------
FIGURES = [
    ("init_ms", "init ms", "{:.2f}"),
    ("first_response_ms", "first response ms", "{:.2f}"),
    ("first_response_excl_aws_ms", "first response excl. AWS ms", "{:.2f}"),
    ("warm_p50_ms", "warm p50 ms", "{:.3f}"),
    ("warm_p99_ms", "warm p99 ms", "{:.3f}"),
    ("warm_p50_excl_aws_ms", "warm p50 excl. AWS ms", "{:.3f}"),
    ("warm_cpu_ms", "CPU ms / warm inv.", "{:.3f}"),
    ("peak_rss_kb", "peak RSS MB", None),
    ("rss_anon_kb", "RSS anon MB", None),
    ("size_bytes", "stripped size MB", None),
    ("aws_calls_init", "AWS calls in init", "{:g}"),
    ("aws_calls_per_warm_invocation", "AWS calls / warm inv.", "{:.2f}"),
]


def fmt_value(key: str, v) -> str:
    if v is None:
        return "–"
    if key in ("peak_rss_kb", "rss_anon_kb"):
        return f"{v / 1024:.1f}"
    if key == "size_bytes":
        return f"{v / 1e6:.2f}"
    return dict((k, f) for k, _, f in FIGURES)[key].format(v)


def ratio(a, b) -> float | None:
    return (a / b) if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else None


def add_ratios(results: list[dict]) -> None:
    """Each figure over the yardstick's. Init is over the bare cold starts alternated with the
    function's own (paired_inits); against bare-sdk it is the quotient of the two paired ratios."""
    for yardstick, field in ((BARE, "ratio_to_bare"), (BARE_SDK, "ratio_to_bare_sdk")):
        base = next((r for r in results if r["function"] == yardstick), None) or {}
        for r in results:
            r[field] = {key: ratio(r.get(key), base.get(key)) for key, _, _ in FIGURES}
            paired = ratio(r.get("init_ms"), r.get("init_bare_paired_ms"))
            if paired is not None:
                r[field]["init_ms"] = paired if yardstick == BARE else ratio(paired, ratio(base.get("init_ms"), base.get("init_bare_paired_ms")))


def markdown(results: list[dict], meta: dict) -> str:
    out = [
        f"# Lambda performance ({'binaries of ' + meta['bin_dir'] if meta.get('bin_dir') else meta['profile'] + ' profile'}, "
        f"{meta['warm']} warm invocations)",
        "",
        f"{meta['date']}, {meta['host']}, {meta['cpus']} CPUs. Each cell: value (ratio to `bare`). "
        f"Memory size {MEMORY_MB} MB in the environment; AWS answered by moto through a recording proxy on loopback. "
        f"Init: median of {INIT_REPEATS} cold starts, each right after one of bare's; its ratio is to the median of those"
        f"{'' if meta.get('paired', True) else ' (no bare binary here: not paired, ratios to bare missing)'}.",
        *([f"**Measured under `{meta['launch_prefix']}`**: a profiling run; every figure but the cold starts includes the tool's cost.", ""]
          if meta.get("launch_prefix") else [""]),
        "| function | " + " | ".join(label for _, label, _ in FIGURES) + " | statuses |",
        "|---" * (len(FIGURES) + 2) + "|",
    ]
    for r in results:
        cells = []
        for key, _, _ in FIGURES:
            v = fmt_value(key, r.get(key))
            ratio = r.get("ratio_to_bare", {}).get(key)
            cells.append(v if r["function"] == BARE or v == "–" else f"{v} ({ratio:.1f}×)" if ratio is not None else f"{v} (n/a)")
        st = ", ".join(f"{k}×{v}" for k, v in sorted(r.get("statuses", {}).items()))
        if r.get("error"):
            st = f"**{r['error']}** {st}".rstrip()
        out.append(f"| {r['function']} | " + " | ".join(cells) + f" | {st} |")
    out += [
        "",
        f"Against the AWS yardstick (`{BARE_SDK}`: bare plus one DynamoDB client reading one item per request, "
        "the floor of any function that calls AWS):",
        "",
        "| function | init | warm p50 excl. AWS | CPU / warm inv. | peak RSS | RSS anon | stripped size |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if r["function"] in (BARE, BARE_SDK):
            continue
        ratios = r.get("ratio_to_bare_sdk", {})
        keys = ("init_ms", "warm_p50_excl_aws_ms", "warm_cpu_ms", "peak_rss_kb", "rss_anon_kb", "size_bytes")
        out.append(f"| {r['function']} | " + " | ".join("–" if ratios.get(k) is None else f"{ratios[k]:.2f}×" for k in keys) + " |")
    out += ["", "AWS requests by service and operation (init / first invocation / mean per warm invocation):", ""]
    out += ["| function | init | first invocation | per warm invocation |", "|---|---|---|---|"]
    for r in results:
        def fmt(d, f="{:g}"):
            return ", ".join(f"{k} {f.format(v)}" for k, v in sorted((d or {}).items())) or "none"
        out.append(f"| {r['function']} | {fmt(r.get('aws_init'))} | {fmt(r.get('aws_first_invocation'))} | {fmt(r.get('aws_per_warm_invocation'), '{:.2f}')} |")
    return "\n".join(out) + "\n"


def seed_and_measure(
    name: str,
    binary: Path,
    moto: Moto,
    proxy: AwsProxy,
    bins: Path,
    warm: int,
    logdir: Path,
    yardstick: tuple[Path, dict] | None,
    launch_prefix: list[str] | None = None,
) -> dict:
    seed_log_path = logdir / f"{name}.seed.log"
    with open(seed_log_path, "wb") as seed_log:
        t = time.perf_counter()
        world = None
        try:
            world = World(moto.url, proxy.url, bins, seed_log)
            world.seed()
        except (SeedError, KeyError, OSError, ValueError, subprocess.SubprocessError) as e:
            if world is not None:
                world.close()
            log(f"{name}: seeding failed: {e} (log: {seed_log_path})")
            return {"function": name, "error": f"seeding failed: {e}"}
        seeded = time.perf_counter() - t
        log(f"{name}: seeded in {seeded:.2f} s; measuring ({warm} warm invocations)")
        try:
            r = measure(name, binary, world, proxy, warm, logdir, moto, yardstick=yardstick, launch_prefix=launch_prefix)
        finally:
            world.close()
        r["seed_seconds"] = round(seeded, 3)
        return r


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a short run (50 warm invocations) to keep the harness working")
    ap.add_argument("--profile", default="release", help="cargo profile (release, perf-quick, or dev for debug binaries)")
    ap.add_argument(
        "--functions", default="health,me,users-list", help="comma-separated function names (binaries of functions/), or all"
    )
    ap.add_argument("--out", default="bench-results", help="directory for perf.md and perf.json")
    ap.add_argument("--warm", type=int, help="warm invocations (default 1000, 50 with --quick)")
    ap.add_argument("--no-build", action="store_true", help="use the binaries already in target/<profile>/")
    ap.add_argument("--bin-dir", help="use the binaries in this directory (functions, bare, platform-admin); implies --no-build")
    ap.add_argument("--require-2xx", action="store_true", help="fail unless every answer of every function is 2xx")
    ap.add_argument(
        "--require-hot-text",
        action="store_true",
        help=f"fail unless every function's .text.hot holds at least {HOT_TEXT_FLOOR:.0%} of the code it ran when functions/hot-text.txt was recorded",
    )
    ap.add_argument(
        "--launch-prefix",
        default="",
        help="start each measured run under this command, a profiler such as "
        "'valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%%p' (its timings then include the tool's)",
    )
    args = ap.parse_args(argv)
    launch_prefix = shlex.split(args.launch_prefix)
    warm = args.warm or (50 if args.quick else 1000)
    functions = select_functions(args.functions, all_functions(ROOT))
    out = Path(args.out)
    out = out if out.is_absolute() else ROOT / out
    out.mkdir(parents=True, exist_ok=True)
    logdir = out / "logs"
    logdir.mkdir(exist_ok=True)

    if args.bin_dir:
        bins = Path(args.bin_dir).resolve()
    else:
        if not args.no_build:
            build(args.profile, functions)
        bins = profile_dir(args.profile)
    moto = Moto()
    proxy = AwsProxy(moto.url).start()
    results = []
    # Every binary's cold starts alternate with bare's (see paired_inits).
    yardstick = (bins / BARE, lambda_env(BARE, bins / BARE, "", proxy.url)) if (bins / BARE).exists() else None
    try:
        log(f"moto on {moto.url}, proxy on {proxy.url}, binaries from {bins}")
        for name in [BARE, BARE_SDK, *functions]:
            binary = bins / name
            if not binary.exists():
                results.append({"function": name, "error": f"no binary {binary}"})
                continue
            # A fresh table, key and secrets per function, seeded anew: moto's queries slow down
            # as a table grows (every authenticated request appends an audit event), and order
            # must not matter: reset moto between functions.
            moto.reset()
            if name == BARE:
                log(f"{name}: measuring ({warm} warm invocations)")
                r = measure(name, binary, None, proxy, warm, logdir, moto, yardstick=yardstick, launch_prefix=launch_prefix)
            elif name == BARE_SDK:
                log(f"{name}: measuring ({warm} warm invocations)")
                yardstick_env = {"TABLE_NAME": sdk_yardstick_table(moto.url)}
                r = measure(name, binary, None, proxy, warm, logdir, moto, yardstick_env, yardstick, launch_prefix)
            else:
                r = seed_and_measure(name, binary, moto, proxy, bins, warm, logdir, yardstick, launch_prefix)
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
        "binaries": str(bins),
        "bin_dir": args.bin_dir and str(bins),
        "warm": warm,
        "quick": args.quick,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "host": socket.gethostname(),
        "cpus": os.cpu_count(),
        "memory_mb": MEMORY_MB,
        "paired": yardstick is not None,
        "launch_prefix": args.launch_prefix or None,
    }
    md = markdown(results, meta)
    (out / "perf.md").write_text(md)
    (out / "perf.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    print(md)
    log(f"wrote {out / 'perf.md'} and {out / 'perf.json'}")
    failed = [r["function"] for r in results if r.get("error")]
    if args.require_2xx:
        failed += [r["function"] for r in results if not all(is_success(k) for k in r.get("statuses", {}))]
    if args.require_hot_text:
        for r in results:
            short = hot_text_short(r) if r["function"] not in (BARE, BARE_SDK) and "code_kb" in r else None
            if short:
                log(f"{r['function']}: {short}: record functions/hot-text.txt anew (tests/perf/record-hot-text.sh)")
                failed.append(r["function"])
    if failed:
        log(f"FAILED: {', '.join(sorted(set(failed)))}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
