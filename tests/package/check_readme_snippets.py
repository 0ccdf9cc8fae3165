#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks that the README's install snippets are the code the packaging tests build.

    python3 tests/package/check_readme_snippets.py [REPOSITORY_ROOT]

CTest runs it as asyncio.package.readme_snippets. In README.md, a line

    <!-- snippet: tests/package/find_package/CMakeLists.txt -->

must be followed by a fenced code block whose text equals the lines between
`# --- README snippet begin ---` and `# --- README snippet end ---` in that file. Every file under
tests/package/ that has such markers must be quoted by the README at least once, so a consumer
test cannot exist without the snippet users read, nor the other way round.
"""

import difflib
import pathlib
import re
import sys

BEGIN = "# --- README snippet begin ---"
END = "# --- README snippet end ---"
MARKER_RE = re.compile(r"^<!--\s*snippet:\s*(\S+)\s*-->\s*$")
FENCE_RE = re.compile(r"^(```+|~~~+)")


def region(path: pathlib.Path) -> str:
    lines = path.read_text(encoding="utf-8").splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == BEGIN]
    ends = [i for i, line in enumerate(lines) if line.strip() == END]
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        raise ValueError(f"{path}: needs exactly one '{BEGIN}' ... '{END}' region")
    return "\n".join(lines[starts[0] + 1:ends[0]])


def readme_blocks(readme: pathlib.Path):
    """Yields (line number of the marker, quoted path, text of the fenced block after it)."""
    lines = readme.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = MARKER_RE.match(lines[i])
        if not m:
            i += 1
            continue
        marker_line, path = i + 1, m.group(1)
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        fence = FENCE_RE.match(lines[j]) if j < len(lines) else None
        if not fence:
            raise ValueError(f"README.md:{marker_line}: the snippet marker for {path} is not "
                             "followed by a fenced code block")
        k = j + 1
        while k < len(lines) and not lines[k].startswith(fence.group(1)):
            k += 1
        if k == len(lines):
            raise ValueError(f"README.md:{j + 1}: unterminated code block")
        yield marker_line, path, "\n".join(lines[j + 1:k])
        i = k + 1


def main() -> int:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parents[2])
    readme = root / "README.md"
    errors = []
    quoted = set()
    try:
        for line, rel, text in readme_blocks(readme):
            path = root / rel
            quoted.add(pathlib.Path(rel).as_posix())
            if not path.is_file():
                errors.append(f"README.md:{line}: {rel} does not exist")
                continue
            want = region(path)
            if text != want:
                diff = difflib.unified_diff(want.splitlines(), text.splitlines(),
                                            f"{rel} (what the test builds)",
                                            f"README.md:{line}", lineterm="")
                errors.append(f"README.md:{line}: the snippet differs from {rel}:\n"
                              + "\n".join(diff))
    except ValueError as e:
        errors.append(str(e))

    for path in sorted((root / "tests" / "package").rglob("*")):
        if not path.is_file() or path.suffix in (".py",):
            continue
        try:
            has_region = BEGIN in path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        rel = path.relative_to(root).as_posix()
        if has_region and rel not in quoted:
            errors.append(f"{rel} has a README snippet region, but README.md does not quote it "
                          f"(add '<!-- snippet: {rel} -->' before a code block)")

    if errors:
        print("\n".join(errors), file=sys.stderr)
        print("\nREADME.md and the packaging tests disagree: edit both the same way.",
              file=sys.stderr)
        return 1
    print(f"README.md quotes {len(quoted)} snippets, each identical to what its test builds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
