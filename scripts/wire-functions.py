#!/usr/bin/env python3
"""Writes functions/src/bin/<function>.rs for every function of the route table
(shared/src/routes.rs): one line of wiring that names the route's type (so the binary links
its own handler only) and the AWS services the function links
beyond DynamoDB and Secrets Manager (KMS_FUNCTIONS, S3_FUNCTIONS). Run it after adding a route
or changing those lists; tests/integration/template.rs checks the binaries against the table.

Usage: python3 scripts/wire-functions.py
"""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = (ROOT / "shared/src/routes.rs").read_text()
BACKGROUND = {
    "authorizer": ("The API Gateway Lambda authorizer: verifies the bearer token at the gateway.", "shared::authorizer::serve"),
    "keys-reencrypt": ("Scheduled job: re-encrypts tenants' sealed data after a key rotation.", "shared::jobs::reencrypt::serve"),
    "audit-archive": ("Scheduled job: archives every audit chain to the object store as JSON Lines.", "shared::jobs::audit_archive::serve"),
}


def listed(name: str) -> set[str]:
    block = re.search(rf"pub const {name}: &\[&str\] = &\[(.*?)\];", SRC, re.S)
    return set(re.findall(r'"([a-z0-9-]+)"', block.group(1)))


def services(function: str, kms: set[str], s3: set[str]) -> str:
    s = "shared::lambda::Services::BASE"
    if function in kms:
        s += ".kms()"
    if function in s3:
        s += ".s3()"
    return s


def main() -> None:
    kms, s3 = listed("KMS_FUNCTIONS"), listed("S3_FUNCTIONS")
    routes = re.findall(r'RouteId::(\w+),\s*"(\w+)",\s*"([^"]+)",\s*"([a-z0-9-]+)"', SRC)
    files = {}
    for route_id, method, path, function in routes:
        files[function] = (
            f"//! `{method} {path}`: the handler lives once in the shared crate; this is wiring only.\n\n"
            f"fn main() -> Result<(), shared::lambda::Error> {{\n"
            f"    shared::lambda::serve_route::<shared::handlers::route::{route_id}>({services(function, kms, s3)})\n}}\n"
        )
    for function, (doc, serve) in BACKGROUND.items():
        files[function] = f"//! {doc}\n\nfn main() -> Result<(), shared::lambda::Error> {{\n    {serve}({services(function, kms, s3)})\n}}\n"
    for function, text in files.items():
        path = ROOT / "functions/src/bin" / f"{function}.rs"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            print("wrote", path.relative_to(ROOT))


if __name__ == "__main__":
    main()
