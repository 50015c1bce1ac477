#!/usr/bin/env python3
"""Rewrites README.md's endpoint table from the route table (shared/src/routes.rs)."""
import re
from pathlib import Path

root = Path(__file__).resolve().parent.parent
src = (root / "shared/src/routes.rs").read_text()
rows = re.findall(r'route\(\s*RouteId::\w+,\s*"(\w+)",\s*"([^"]+)",\s*"([a-z0-9-]+)",\s*(Public|SignedIn|Requires\(P::(\w+)\)|AnyOf\((\w+)\))', src)
snake = lambda x: re.sub(r"(?<!^)(?=[A-Z])", "_", x).lower()
table = "| method | path | function | permission |\n|---|---|---|---|\n"
for method, path, function, access, perm, anyof in rows:
    if perm:
        perm_s = snake(perm)
    elif anyof:
        perm_s = "manage_own_bookings or manage_others_bookings"
    else:
        perm_s = "public" if access == "Public" else "signed in"
    table += f"| {method} | {path} | {function} | {perm_s} |\n"
readme = root / "README.md"
s = readme.read_text()
a = s.index("| method | path | function | permission |")
b = s.index("\nBackground functions:")
readme.write_text(s[:a] + table + s[b:])
print(f"{len(rows)} routes")
