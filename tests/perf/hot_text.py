#!/usr/bin/env python3
"""Writes `functions/hot-text.txt`, the code the functions run: functions/build.rs turns it into a
linker script that lays that code together, in an output section `.text.hot` before `.text`, so
that a container maps the pages of code it uses and not the 64 KB the kernel maps around every
fault in code spread over the whole binary (tests/perf/README.md, "Code layout").

    python3 tests/perf/hot_text.py --archive LIB.a ... CALLGRIND_OUT ... > functions/hot-text.txt

CALLGRIND_OUT: callgrind outputs of harness runs of binaries with symbols (their `cmd:` line
names the binary; its symbol table says which of the functions that ran are its own).
LIB.a: static C libraries linked in (aws-lc): their hand-written assembly has no section per
function, so the objects that ran are named instead.

Every function is matched by a pattern without the crate hashes and instance hashes of the build
that was recorded (`17h<hash>E` of legacy names, `Cs<hash>_` of v0 names, the version in
aws-lc's prefix, LLVM's `.<n>` suffixes). The script so keeps matching after dependency
updates and on other targets; a function that is new since the recording lands in `.text`, which
costs memory and nothing else. `tests/perf/record-hot-text.sh` runs the whole recording.
"""

from __future__ import annotations

import argparse
import fnmatch
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

# `fn=(12) name` names function 12 the first time it appears, `cfn=(12) name` a callee, which
# ran too; `fn=(12)` alone reuses the name.
FUNCTION = re.compile(r"^c?fn=\(\d+\) (.+)$")
COMMAND = re.compile(r"^cmd:\s+(\S+)")
ARCHIVE_MEMBER = re.compile(r"^(?:In archive .*|(\S+\.o):\s+file format .*)$")
# objdump -t: `0000000000000000 g     F .text  0000000000000041 aws_lc_0_47_0_aes_hw_encrypt`
OBJDUMP_SYMBOL = re.compile(r"^[0-9a-f]+ .{7} (\S+)\s+[0-9a-f]+\s+(?:\.hidden\s+)?(\S+)$")
# Longer patterns end in `*` there: the file stays small, and what else they match is an instance
# of the same generic, laid out with the rest.
LONGEST_PATTERN = 120


# Code chosen at run time by CPU feature where valgrind's CPU lacks the feature (SHA-NI), so
# that the recording ran another variant: every backend of these is listed.
RUNTIME_DISPATCHED = ["_ZN4sha26sha256*", "_ZN4sha26sha512*"]

# The compiler's 128-bit integer and float conversions: a few hundred bytes each, and whether they
# run depends on timing (clock arithmetic), so a slow run under valgrind can miss them. Every
# function gets them.
EVERY_FUNCTION = ["__floatti*", "__floatunti*", "__fixdfti", "__fixunsdfti"]


def functions_run(path: Path) -> tuple[str | None, list[str]]:
    """The binary a callgrind output profiled, and the functions it saw run, in file order."""
    binary = None
    names: dict[str, None] = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if binary is None and (m := COMMAND.match(line)):
                binary = m.group(1)
            elif m := FUNCTION.match(line):
                names.setdefault(m.group(1).strip(), None)
    return binary, list(names)


def defined_symbols(binary: str) -> dict[str, int]:
    """The symbols a binary defines, with their sizes in bytes (0 where nm gives none)."""
    out = subprocess.run(["nm", "--defined-only", "-S", binary], check=True, capture_output=True, text=True).stdout
    sizes: dict[str, int] = {}
    for parts in (line.split() for line in out.splitlines()):
        if len(parts) == 4:  # address, size, type, name
            sizes[parts[3]] = int(parts[1], 16)
        elif len(parts) == 3:  # address, type, name
            sizes.setdefault(parts[2], 0)
    return sizes


def own_functions(names: list[str], symbols: dict[str, int]) -> dict[str, int]:
    """The recorded names that are the binary's own functions, with their sizes in it. Names are
    compared without hashes: a recording made before a change of crate hashes (a dependency, a
    feature, the profile) still names the same functions of the binary built since. The size of
    a name is that of every function of the binary its pattern matches: what a link lays out
    for it."""
    size_of: dict[str, int] = {}
    for symbol, size in symbols.items():
        key = without_hashes(symbol)
        size_of[key] = size + size_of.get(key, 0)
    return {name: size_of[key] for name in names if (key := without_hashes(name)) in size_of}


def without_hashes(symbol: str) -> str:
    p = re.sub(r"\.(llvm\.)?\d+$", "", symbol)  # LLVM's suffix for a renamed local copy
    p = re.sub(r"17h[0-9a-f]{16}E$", "17h*E", p)  # legacy mangling's instance hash
    p = re.sub(r"Cs[0-9A-Za-z]+_", "Cs*_", p)  # v0 mangling's crate disambiguator
    p = re.sub(r"^aws_lc_\d+_\d+_\d+_", "aws_lc_*_", p)  # aws-lc-sys's versioned prefix
    return p[:LONGEST_PATTERN]


def assembly_text(archives: list[str]) -> dict[str, set[str]]:
    """The functions each object of the archives defines in plain `.text` (names without
    hashes), by a file pattern without the build's hash prefix (`*-aesni-x86_64.o`)."""
    defined: dict[str, set[str]] = {}
    for archive in archives:
        out = subprocess.run(["objdump", "-t", archive], check=True, capture_output=True, text=True).stdout
        member = None
        for line in out.splitlines():
            if m := ARCHIVE_MEMBER.match(line):
                member = m.group(1) or member
            elif (m := OBJDUMP_SYMBOL.match(line)) and member and m.group(1) == ".text":
                defined.setdefault("*-" + re.sub(r"^[0-9a-f]{16}-", "", member), set()).add(without_hashes(m.group(2)))
    return defined


def assembly_objects(text_of: dict[str, set[str]], wanted: set[str]) -> list[str]:
    """The objects (of `assembly_text`) that define a wanted function."""
    members: dict[str, None] = {}
    wanted = {without_hashes(name) for name in wanted}
    for member, functions in text_of.items():
        if functions & wanted:
            members.setdefault(member, None)
            # aws-lc picks `_alt` (no ADX/BMI2) or not at run time; valgrind's CPU has no ADX,
            # so the recording saw one variant where Lambda's CPUs may run the other.
            if member.endswith("_alt.o"):
                members.setdefault(member.removesuffix("_alt.o") + ".o", None)
    # The C runtime's entry point (`_start`, in crt1.o's `.text`) runs once in every process.
    members.setdefault("*crt1.o", None)
    return list(members)


def ranges(indices: list[int]) -> str:
    """`0-3,7,9-10` for [0, 1, 2, 3, 7, 9, 10] (sorted, distinct)."""
    parts: list[str] = []
    start = prev = None
    for i in indices + [None]:
        if start is not None and (i is None or i != prev + 1):
            parts.append(str(start) if start == prev else f"{start}-{prev}")
            start = None
        if i is not None and start is None:
            start = i
        prev = i
    return ",".join(parts)


def listing(patterns: list[str], objects: list[str], shares: dict[str, tuple[int, list[int]]] | None = None) -> str:
    """The listing: every entry (`text P`, then `object O`), then for each function the KB of
    its own code that ran and which entries it ran, by their place among the entries
    (`function NAME KB 0-812,815`)."""
    lines = [
        "# Generated by tests/perf/record-hot-text.sh (tests/perf/hot_text.py); do not edit by hand.",
        "# The code that ran in the recorded harness runs. functions/build.rs lays each function's",
        "# share of it out together in release links: `text P` is every function in a section",
        "# `.text.P*` (`.text.unlikely.P*`, `.text.startup.P*`), `object O` the `.text` of assembly",
        "# objects matching O; `function F K I`: function F ran K KB of its own code, matched by the",
        "# entries I (their places among the entries, from 0). A binary without a `function` line",
        "# gets every entry.",
    ]
    lines += [f"text {p}" for p in patterns]
    lines += [f"object {o}" for o in objects]
    lines += [f"function {name} {kb} {ranges(indices)}" for name, (kb, indices) in sorted((shares or {}).items())]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--archive", action="append", default=[], help="static library linked into the functions")
    ap.add_argument("outputs", nargs="+", help="callgrind output files")
    args = ap.parse_args(argv)

    symbols_of: dict[str, dict[str, int]] = {}
    ran: dict[str, None] = {}
    # How many runs ran each pattern: the code that every function runs comes first, so that a
    # function touches the front of `.text.hot` and not the code only other functions need.
    runs_of: Counter[str] = Counter()
    # The patterns and own functions each binary ran (a function run twice counts once).
    ran_by: dict[str, dict[str, None]] = {}
    own_by: dict[str, dict[str, None]] = {}
    ran_bytes: dict[str, int] = {}
    size_by: dict[str, dict[str, int]] = {}  # per function: each own name's size in its binary
    for path in args.outputs:
        binary, names = functions_run(Path(path))
        if binary is None:
            print(f"{path}: no cmd: line", file=sys.stderr)
            return 2
        if binary not in symbols_of:
            symbols_of[binary] = defined_symbols(binary)
        own_sizes = own_functions(names, symbols_of[binary])
        own = list(own_sizes)
        ran.update(dict.fromkeys(own))
        function = Path(binary).name
        own_by.setdefault(function, {}).update(dict.fromkeys(own))
        size_of = size_by.setdefault(function, {})
        size_of.update(own_sizes)
        # Per pattern: instances of one generic recorded under several hashes count once.
        ran_bytes[function] = sum({without_hashes(name): size_of[name] for name in own_by[function]}.values())
        for pattern in dict.fromkeys(without_hashes(name) for name in own):
            # Glob metacharacters never occur in mangled Rust or C names; skip anything else.
            if not any(c in pattern for c in "[]?\\ \t") and pattern not in ran_by.setdefault(function, {}):
                ran_by[function][pattern] = None
                runs_of[pattern] += 1

    # Most runs first; among equals, the order they were first met in.
    patterns = sorted(runs_of, key=lambda p: -runs_of[p])
    patterns += [p for p in RUNTIME_DISPATCHED + EVERY_FUNCTION if p not in runs_of]
    text_of = assembly_text(args.archive)
    objects = assembly_objects(text_of, set(ran))
    place = {p: i for i, p in enumerate(patterns)}
    shares: dict[str, list[int]] = {}
    for function, own_patterns in ran_by.items():
        indices = {place[p] for p in own_patterns}
        indices |= {place[p] for p in RUNTIME_DISPATCHED if p in place and any(fnmatch.fnmatchcase(q, p) for q in own_patterns)}
        indices |= {place[p] for p in EVERY_FUNCTION}
        ran_objects = assembly_objects(text_of, set(own_by[function]))
        indices |= {len(patterns) + i for i, o in enumerate(objects) if o in ran_objects}
        shares[function] = (ran_bytes[function] // 1024, sorted(indices))
    sys.stdout.write(listing(patterns, objects, shares))
    print(f"{len(ran)} functions ran; {len(patterns)} patterns, {len(objects)} assembly objects, {len(shares)} binaries", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
