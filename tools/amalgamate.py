#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generates the single header single_include/asyncio/asyncio.hpp from include/asyncio/.

    python3 tools/amalgamate.py            # (re)write single_include/asyncio/asyncio.hpp
    python3 tools/amalgamate.py --check    # exit 1 when the committed file is stale

Starting at include/asyncio/asyncio.hpp, every `#include <asyncio/...>` is replaced by that
header's text, once per header (the first time it is reached, in include order, which is a valid
order since each header includes what it uses). `#pragma once` and the SPDX line of each part are
dropped; one `#pragma once` and a "generated, do not edit" banner open the result. Standard
library includes stay where they are; a repeated one outside any `#if` is dropped.

Every public header (include/asyncio/*.hpp) must be reached from the umbrella header: one that is
not is a warning, and an error with --check. An asyncio include inside `#if`/`#ifdef` cannot be inlined "once" correctly, so it is an error, as
is any `#include "..."` (style.md: includes use <asyncio/...> paths). Standard library only, so it
runs on any Python 3.8 or newer.
"""

import argparse
import difflib
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
ENTRY = "asyncio/asyncio.hpp"
OUTPUT = pathlib.Path("single_include") / ENTRY
REGENERATE = "python3 tools/amalgamate.py"

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
PRAGMA_ONCE_RE = re.compile(r"^\s*#\s*pragma\s+once\s*$")
SPDX_RE = re.compile(r"^\s*//\s*SPDX-License-Identifier:")
IF_RE = re.compile(r"^\s*#\s*if(n?def)?\b")
ENDIF_RE = re.compile(r"^\s*#\s*endif\b")

BANNER = """\
// SPDX-License-Identifier: MIT
// asyncio-cpp in one header: Python's asyncio for C++20. https://github.com/asyncio-cpp/asyncio-cpp
//
// GENERATED FILE, DO NOT EDIT. Made by tools/amalgamate.py from include/asyncio/asyncio.hpp;
// after changing a header under include/, regenerate it with: {regenerate}
#pragma once
"""


class AmalgamationError(Exception):
    pass


class Amalgamator:
    def __init__(self, include_dir: pathlib.Path):
        self.include_dir = include_dir
        self.inlined = set()  # asyncio headers already emitted (or being emitted)
        self.system_includes = set()  # standard headers already included at depth 0
        self.out = []

    def emit_header(self, name: str, stack: list) -> None:
        path = self.include_dir / name
        if not path.is_file():
            where = f" (included from {stack[-1]})" if stack else ""
            raise AmalgamationError(f"{name}: no such header in {self.include_dir}{where}")
        self.inlined.add(name)
        self.out.append(f"\n// ---- {name} " + "-" * max(0, 92 - len(name)) + "\n")
        depth = 0  # #if nesting inside this file
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            where = f"{name}:{lineno}"
            if PRAGMA_ONCE_RE.match(line) or SPDX_RE.match(line):
                continue
            if IF_RE.match(line):
                depth += 1
            elif ENDIF_RE.match(line):
                depth -= 1
            m = INCLUDE_RE.match(line)
            if m:
                quote, target = m.groups()
                if quote == '"':
                    raise AmalgamationError(f'{where}: #include "{target}": use <asyncio/...> paths')
                if target.startswith("asyncio/"):
                    if depth != 0:
                        raise AmalgamationError(
                            f"{where}: #include <{target}> inside #if cannot be amalgamated")
                    if target not in self.inlined:
                        self.emit_header(target, stack + [where])
                        self.out.append(f"// ---- (back in {name})\n")
                    continue
                if depth == 0:
                    if target in self.system_includes:
                        continue
                    self.system_includes.add(target)
            self.out.append(line + "\n")

    def run(self) -> str:
        self.emit_header(ENTRY, [])
        return BANNER.format(regenerate=REGENERATE) + "".join(self.out)


def generate(root: pathlib.Path):
    """Returns the single header's text and the public headers it does not contain."""
    amalgamator = Amalgamator(root / "include")
    text = amalgamator.run()
    public = sorted(p.relative_to(root / "include").as_posix()
                    for p in (root / "include" / "asyncio").glob("*.hpp"))
    return text, [h for h in public if h not in amalgamator.inlined]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if the output file differs from a fresh run")
    parser.add_argument("--root", type=pathlib.Path, default=ROOT,
                        help="repository root (default: the one this script is in)")
    parser.add_argument("--output", type=pathlib.Path, default=None,
                        help=f"output file (default: ROOT/{OUTPUT.as_posix()})")
    args = parser.parse_args()

    root = args.root.resolve()
    output = args.output if args.output is not None else root / OUTPUT
    try:
        text, unreached = generate(root)
    except AmalgamationError as e:
        print(f"amalgamate.py: error: {e}", file=sys.stderr)
        return 2
    for h in unreached:
        print(f"amalgamate.py: {'error' if args.check else 'warning'}: include/{h} is not "
              f"included by include/{ENTRY}, so the single header lacks it", file=sys.stderr)
    if args.check and unreached:
        return 1

    if args.check:
        current = output.read_text(encoding="utf-8") if output.is_file() else ""
        if current == text:
            print(f"amalgamate.py: {output} is up to date")
            return 0
        print(f"amalgamate.py: {output} is stale: it does not match include/asyncio/.\n"
              f"Regenerate it with: {REGENERATE}   (from the repository root)\n", file=sys.stderr)
        diff = list(difflib.unified_diff(current.splitlines(), text.splitlines(),
                                         "single_include (as it is)", "generated from include/", n=1, lineterm=""))
        shown = diff[:40]
        print("\n".join(shown), file=sys.stderr)
        if len(diff) > len(shown):
            print(f"... ({len(diff) - len(shown)} more diff lines)", file=sys.stderr)
        return 1

    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print(f"amalgamate.py: wrote {output} ({text.count(chr(10))} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
