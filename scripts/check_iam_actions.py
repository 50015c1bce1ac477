"""Checks every IAM action named in a CloudFormation/SAM template against cfn-lint's table of
real service actions (the data behind rule W3037).

Why: cfn-lint applies W3037 to AWS::IAM::* resources, but not to the inline `Policies` of
AWS::Serverless::Function once SAM has transformed them (measured with cfn-lint 1.58.0: a
misspelt `kms:Decryptx` or an invented `dynamodbx:Foo` in a function policy passes both cfn-lint and `sam validate --lint`),
and a misspelt or non-existent action (e.g. "dynamodb:TransactWriteItems") silently grants nothing.

Usage: python check_iam_actions.py template.yaml [...]   (exit 1 if any action is unknown)
"""
import fnmatch
import json
import sys
from pathlib import Path

import cfnlint
from cfnlint.decode import decode

POLICIES = json.loads((Path(cfnlint.__file__).parent / "data/AdditionalSpecs/Policies.json").read_text())


def statements(node, path="$"):
    """Yields (path, statement) for every dict that looks like an IAM policy statement."""
    if isinstance(node, dict):
        if "Effect" in node and ("Action" in node or "NotAction" in node):
            yield path, node
        for k, v in node.items():
            yield from statements(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from statements(v, f"{path}[{i}]")


def problem(action):
    if not isinstance(action, str):
        return None  # an intrinsic function: cannot check offline
    if action == "*":
        return None
    service, _, name = action.partition(":")
    svc = POLICIES.get(service.lower())
    if svc is None or not name:
        return f"unknown service prefix in {action!r}"
    known = svc.get("Actions", {}).keys()
    if not fnmatch.filter(known, name.lower()):
        return f"{action!r} is not an action of {service}"
    return None


def main(paths):
    bad = 0
    for p in paths:
        template, matches = decode(p)
        if template is None:
            for m in matches:
                print(f"{p}: {m}")
            bad += 1
            continue
        for path, stmt in statements(template):
            for key in ("Action", "NotAction"):
                acts = stmt.get(key, [])
                for a in acts if isinstance(acts, list) else [acts]:
                    msg = problem(a)
                    if msg:
                        print(f"{p}: {path}.{key}: {msg}")
                        bad += 1
    if bad:
        return 1
    print(f"IAM actions: all known ({', '.join(paths)})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["template.yaml"]))
