#!/usr/bin/env python3
"""Adds a route function to template.yaml by cloning an existing one of the same shape.

Usage: scripts/new-function.py NAME METHOD PATH "Summary" --like EXISTING [--concurrency PARAM]

Copies EXISTING's log group, function (role, events) and its errors/throttles alarms, renamed,
with the new method, path and description; review the policy it inherits. The Rust side is separate:
the route table row, the handler and its line in `route_handlers!` (shared/src/handlers/mod.rs),
events/NAME.json, then `scripts/wire-functions.py` writes functions/src/bin/NAME.rs.
"""
import argparse
import re
import sys
from pathlib import Path

def camel(name: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in name.split("-"))

def block(text: str, start: str) -> tuple[int, int]:
    """Span of a top-level resource (two-space indent) starting at `start:`."""
    i = text.index(f"\n  {start}:\n") + 1
    m = re.compile(r"\n  [A-Za-z0-9]+:\n|\n  # -{10}").search(text, i + 1)
    return i, (m.start() + 1 if m else len(text))

def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("name"); ap.add_argument("method"); ap.add_argument("path"); ap.add_argument("summary")
    ap.add_argument("--like", required=True); ap.add_argument("--concurrency")
    a = ap.parse_args()
    tpl = Path(__file__).resolve().parent.parent / "template.yaml"
    text = tpl.read_text()
    old, new = camel(a.like), camel(a.name)
    if f"\n  {new}Function:\n" in text:
        print(f"{new}Function exists already", file=sys.stderr)
        return 1
    def rename(s: str) -> str:
        s = s.replace(old, new).replace(f"-{a.like}\"", f"-{a.name}\"").replace(f"-{a.like}:", f"-{a.name}:")
        s = s.replace(f"Binary: {a.like}\n", f"Binary: {a.name}\n")
        s = re.sub(r'Description: ".*?"', f'Description: "{a.method} {a.path}: {a.summary}"', s, count=1)
        s = re.sub(r"(            Path: ).*", lambda m: m.group(1) + a.path, s, count=1)
        s = re.sub(r"(            Method: ).*", lambda m: m.group(1) + a.method, s, count=1)
        if a.concurrency:
            s = re.sub(r"ReservedConcurrentExecutions: !Ref \w+", f"ReservedConcurrentExecutions: !Ref {a.concurrency}", s)
        return s
    lg, fn_ = block(text, f"{old}LogGroup"), block(text, f"{old}Function")
    resources = rename(text[lg[0]:lg[1]]) + rename(text[fn_[0]:fn_[1]])
    text = text[:fn_[1]] + resources + text[fn_[1]:]
    er, th = block(text, f"{old}ErrorsAlarm"), block(text, f"{old}ThrottlesAlarm")
    alarms = rename(text[er[0]:er[1]]) + rename(text[th[0]:th[1]])
    text = text[:th[1]] + alarms + text[th[1]:]
    tpl.write_text(text)
    print(f"added {new}LogGroup, {new}Function, {new}ErrorsAlarm, {new}ThrottlesAlarm (like {old})")
    return 0

if __name__ == "__main__":
    sys.exit(main())
