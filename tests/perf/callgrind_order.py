#!/usr/bin/env python3
"""The functions that callgrind saw run, in the order they were first reached, one mangled name
per line: a symbol ordering file for lld (`-Wl,--symbol-ordering-file=FILE`), which lays those
functions out together so that a cold start maps fewer pages of code.

    python3 tests/perf/callgrind_order.py OUT [OUT ...] > order.txt

OUT: callgrind outputs of harness runs under
`--launch-prefix "valgrind --tool=callgrind --demangle=no --callgrind-out-file=/tmp/cg.%p"`.
Names carry the crate hashes of the build that ran, so the file only fits binaries of that very
build (same profile, target and dependencies). tests/perf/README.md ("Code layout") has the
experiment and its figures.
"""

from __future__ import annotations

import re
import sys

# `fn=(12) name` names function 12 the first time it appears, `fn=(12)` reuses it; `cfn=` is a
# callee, which ran too.
DEFINITION = re.compile(r"^c?fn=\(\d+\) (.+)$")


def executed_in_order(lines) -> list[str]:
    seen: dict[str, None] = {}
    for line in lines:
        m = DEFINITION.match(line.rstrip("\n"))
        # Addresses without a symbol (`0x...`) cannot be ordered.
        if m and not m.group(1).startswith("0x"):
            seen.setdefault(m.group(1).strip(), None)
    return list(seen)


def main(paths: list[str]) -> int:
    if not paths or paths[0] in ("-h", "--help"):
        print(__doc__, file=sys.stderr)
        return 0 if paths else 2
    names: dict[str, None] = {}
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as f:
            for name in executed_in_order(f):
                names.setdefault(name, None)
    sys.stdout.write("".join(f"{n}\n" for n in names))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
