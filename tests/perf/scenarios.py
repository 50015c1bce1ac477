"""What the harness feeds each function (Python 3.11 standard library only, no AWS).

The pure part of the harness, kept apart so that it is unit-tested without moto:

* which functions there are (`functions/src/bin/*.rs`) and what `--functions` selects;
* per function, a `Scenario`: whose token the event carries (the route's role, from
  shared/src/routes.rs and shared/src/rbac.rs), which demo user the sample's `u_demo...` id names,
  what must be prepared before each invocation so that a mutating function finds fresh state
  (a new booking to cancel, a suspended tenant to offboard...), and which request fields are made
  unique per invocation (an Idempotency-Key, a new user's e-mail);
* filling an event's placeholders (`{{token}}`, `{{date+30}}`, ...), and the demo ids of the
  samples (`t_demo0000000001`, `u_demo0000000001`) with the seeded ones;
* the helper functions that seeding and preparation run, so that the build includes them.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

BARE = "bare"
# The AWS yardstick: bare plus one DynamoDB read per request (tests/perf/bare-sdk), package bare-sdk-lambda.
BARE_SDK = "bare-sdk"
DEMO_TENANT = "t_demo0000000001"  # the samples' tenant id: replaced by values["tenant"]
DEMO_USER = "u_demo0000000001"  # the samples' user id: replaced by values["user"]
PLACEHOLDER = re.compile(r"\{\{([a-z_]+)(?:\+(\d+))?\}\}")


# --------------------------------------------------------------------------------------------
# Which functions
# --------------------------------------------------------------------------------------------
def all_functions(root: Path) -> list[str]:
    """Every binary of the functions crate: `functions/src/bin/<name>.rs`, sorted."""
    return sorted(p.stem for p in (root / "functions" / "src" / "bin").glob("*.rs"))


def select_functions(spec: str, available: list[str]) -> list[str]:
    """`all`, or a comma-separated list (in that order, once each); `bare` is measured anyway."""
    out: list[str] = []
    for name in (s.strip() for s in spec.split(",")):
        for f in available if name == "all" else [name]:
            if f and f != BARE and f not in out:
                out.append(f)
    return out


# --------------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scenario:
    # The demo user whose token `{{token}}` is (see DemoUsers in harness.py): root, admin
    # (the first company's admin), traveler, executive, reporting, arranger.
    caller: str = "admin"
    # The demo user the samples' u_demo0000000001 names.
    user: str = "traveler"
    # What World.prepare does before each invocation (None: nothing).
    prepare: str | None = None
    # Request fields made unique per invocation: ("header", name) or ("body", field).
    unique: tuple[tuple[str, str], ...] = ()


# Most routes are called by the first demo company's admin (company_admin, with a second factor):
# its role reaches every tenant route. The exceptions:
SCENARIOS: dict[str, Scenario] = {
    # Tenants are the root admin's (root_admin, no tenant claim).
    "tenants-create": Scenario(caller="root", unique=(("body", "admin_email"),)),
    "tenants-list": Scenario(caller="root"),
    "tenants-get": Scenario(caller="root"),
    "tenants-update": Scenario(caller="root"),
    # Only a suspended tenant can be offboarded: a new one each time, with a data key to destroy.
    "tenants-offboard": Scenario(caller="root", prepare="suspended-tenant"),
    "tenant-keys-get": Scenario(caller="root"),
    "tenant-keys-rotate": Scenario(caller="root"),
    # Sign-in: the traveler's e-mail and password (no second factor enrolled).
    "auth-login": Scenario(caller="none"),
    # TOTP enrolment is the traveler's (who has no second factor yet); a verification needs a
    # pending enrolment and its current code.
    "auth-totp-enroll": Scenario(caller="traveler"),
    "auth-totp-verify": Scenario(caller="traveler", prepare="pending-totp"),
    # The arranger acts on the executive, the one traveler in its scope.
    "profile-user-get": Scenario(caller="arranger", user="executive"),
    "profile-user-put": Scenario(caller="arranger", user="executive"),
    "users-create": Scenario(unique=(("body", "email"),)),
    # A new Idempotency-Key each time books the seeded offer again (an offer is not used up).
    "bookings-create": Scenario(unique=(("header", "Idempotency-Key"),)),
    # A booking waiting for approval each time (cancelling one withdraws the request).
    "bookings-cancel": Scenario(prepare="pending-booking"),
    "bookings-approve": Scenario(prepare="pending-booking"),
    "bookings-reject": Scenario(prepare="pending-booking"),
    # A policy is replaced at the version read: the seeded policy is version 1, each put adds one.
    "policy-put": Scenario(prepare="policy-version"),
    # Jobs get work each time: a key rotation to re-encrypt after, new audit events to archive.
    "keys-reencrypt": Scenario(prepare="rotated-key"),
    "audit-archive": Scenario(prepare="new-audit-event"),
}


def scenario(function: str) -> Scenario:
    return SCENARIOS.get(function, Scenario())


# The function binaries seeding runs (World.seed_travel in harness.py) for every world, and
# those each preparation runs (World.prepare): the build includes them.
#
# A preparation made between two invocations must not go through the audited API when the
# measured function appends to the audit chain (every API function does): the container caches
# the head of the chain it last wrote, and a write by someone else in between would make it
# stale (one more GetItem and transaction per invocation: the cost of a container sharing its
# tenant with others, not of the function). So a new pending booking or suspended tenant is a
# copy, written straight to the table, of one the platform wrote while seeding (see
# World.clone), a pending TOTP enrolment a direct update of the user; only the jobs, which append
# nothing, get their work through the API (a key rotation, a `me` call).
SEED_HELPERS = ("policy-put", "search-flights", "bookings-create", "profile-me-put", "profile-user-put")
PREPARE_HELPERS = {
    "suspended-tenant": (),
    "pending-booking": (),
    "pending-totp": ("auth-totp-enroll",),
    "policy-version": (),
    "rotated-key": ("tenant-keys-rotate",),
    "new-audit-event": ("me",),
}
OPERATOR_TOOL = "platform-admin"  # local/src/bin/platform-admin.rs, package local-api


def helper_functions(functions: list[str]) -> list[str]:
    """The function binaries the harness runs, unmeasured, to seed and prepare `functions`."""
    out = set(SEED_HELPERS)
    for f in functions:
        out.update(PREPARE_HELPERS.get(scenario(f).prepare or "", ()))
    return sorted(out)


# --------------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------------
def fill(text: str, values: Mapping[str, str], today: dt.date) -> str:
    """Replaces `{{name}}` by values[name] and the samples' demo ids by values["tenant"] and
    values["user"]. `{{date+N}}` is the date N days from `today` (ISO), `{{month}}` the month
    of `{{date+30}}` (YYYY-MM) unless given. Values are inserted as they are: they must not need
    JSON escaping (tokens, ids, e-mails, dates, numbers). An unknown placeholder is a KeyError."""

    def sub(m: re.Match) -> str:
        name, days = m.group(1), m.group(2)
        if name == "date" and days is not None:
            return (today + dt.timedelta(days=int(days))).isoformat()
        if days is None and name in values:
            return str(values[name])
        if name == "month" and days is None:
            return (today + dt.timedelta(days=30)).isoformat()[:7]
        raise KeyError(f"no value for {m.group(0)}")

    text = PLACEHOLDER.sub(sub, text)
    for demo, key in ((DEMO_TENANT, "tenant"), (DEMO_USER, "user")):
        if demo in text:
            if key not in values:
                raise KeyError(f"no value for {demo}")
            text = text.replace(demo, values[key])
    return text


def placeholders(text: str) -> set[str]:
    return {m.group(0) for m in PLACEHOLDER.finditer(text)}


def _tagged(value: str, tag: str) -> str:
    if "@" in value:  # an e-mail address: tag the local part
        local, domain = value.split("@", 1)
        return f"{local}.{tag}@{domain}"
    return f"{value}-{tag}"


def make_unique(event: dict, unique: tuple[tuple[str, str], ...], tag: str) -> dict:
    """Tags the named header (in `headers` and `multiValueHeaders`, any case) or JSON body field
    with `tag`, so that each invocation is a new request rather than a replay."""
    for where, name in unique:
        if where == "header":
            for k, v in list((event.get("headers") or {}).items()):
                if k.lower() == name.lower():
                    event["headers"][k] = _tagged(v, tag)
            for k, vs in list((event.get("multiValueHeaders") or {}).items()):
                if k.lower() == name.lower():
                    event["multiValueHeaders"][k] = [_tagged(v, tag) for v in vs]
        elif where == "body":
            body = json.loads(event["body"])
            body[name] = _tagged(body[name], tag)
            event["body"] = json.dumps(body)
        else:
            raise ValueError(f"unknown place {where!r}")
    return event


def totp_code(secret_b32: str, unix_seconds: float, step_seconds: int = 30, digits: int = 6) -> str:
    """RFC 6238 (HMAC-SHA1), as shared/src/auth/totp.rs computes it."""
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(unix_seconds) // step_seconds), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(code % 10**digits).zfill(digits)


def ed25519_seed(pkcs8_der: bytes) -> bytes:
    """The 32-byte private key of an Ed25519 PKCS#8 document, v1 or v2 (RFC 5958, with the
    public key, as aws-lc-rs writes it and `cryptography` does not read): the CurvePrivateKey
    OCTET STRING nested in the privateKey OCTET STRING (04 22 04 20 <32 bytes>)."""
    ed25519 = b"\x30\x05\x06\x03\x2b\x65\x70"  # AlgorithmIdentifier { id-Ed25519 }
    at = pkcs8_der.find(ed25519 + b"\x04\x22\x04\x20")
    if pkcs8_der[:1] != b"\x30" or at < 0 or len(pkcs8_der) < at + 11 + 32:
        raise ValueError("not an Ed25519 PKCS#8 document")
    return pkcs8_der[at + 11 : at + 11 + 32]


def status_of_body(body) -> str:
    """The status column's entry for an answer: its HTTP status code, `allow`/`deny` for an
    authorizer's policy, `answered` for any other JSON (a job's report)."""
    if isinstance(body, dict):
        if "statusCode" in body:
            return str(body["statusCode"])
        if isinstance(body.get("policyDocument"), dict):
            statements = body["policyDocument"].get("Statement") or [{}]
            return "allow" if all(s.get("Effect") == "Allow" for s in statements) else "deny"
    return "answered"


def is_success(status: str) -> bool:
    return status.startswith("2") or status in ("answered", "allow")


def covered_seconds(intervals: list[tuple[float, float]]) -> float:
    """Wall time covered by the intervals (their union): concurrent AWS calls overlap, and
    subtracting the sum of their durations would take the same time off twice."""
    total, end = 0.0, float("-inf")
    for start, stop in sorted(intervals):
        if stop <= end:
            continue
        total += stop - max(start, end)
        end = stop
    return total
