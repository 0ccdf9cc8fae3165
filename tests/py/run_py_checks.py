#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs one CPython twin script and compares its output with <script>.expected.

    python3 run_py_checks.py SCRIPT.py

The expected files hold CPython 3.13's output. A line whose text differs on older interpreters
starts with a version mark, `@3.12+ ` or `@3.13+ `; on an older interpreter it is left out of the
comparison, whether the script still prints its own version of that line (same line count) or
omits it (pysupport.show with `since=`). An expected file whose first line is only a mark
(`@3.13+`) needs that interpreter as a whole: an older one does not run the script. When lines or
scripts are left out and the rest matches, the exit code is 77, which CTest reports as skipped
(SKIP_RETURN_CODE). Exit code 0 means every line matched, 1 a difference (printed as a unified
diff), 2 a script that failed.
"""

import difflib
import os
import re
import subprocess
import sys

SKIP = 77
MARK = re.compile(r"^@(\d+)\.(\d+)\+(?: (.*))?$")


def read_expected(path):
    """[(needed version or None, text)]; a whole-script mark is returned with text None."""
    lines = []
    with open(path, encoding="utf-8") as f:
        for line in f.read().splitlines():
            m = MARK.match(line)
            if m:
                lines.append(((int(m.group(1)), int(m.group(2))), m.group(3)))
            else:
                lines.append((None, line))
    return lines


def too_old(needed):
    return needed is not None and sys.version_info[:2] < needed


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    script = os.path.abspath(argv[1])
    version = "%d.%d.%d" % sys.version_info[:3]
    lines = read_expected(os.path.splitext(script)[0] + ".expected")
    if lines and lines[0][1] is None:
        if too_old(lines[0][0]):
            print(f"python {version}: {os.path.basename(script)} needs CPython "
                  "%d.%d or newer; not run" % lines[0][0])
            return SKIP
        lines = lines[1:]
    proc = subprocess.run([sys.executable, "-B", script], cwd=os.path.dirname(script),
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        print(f"{os.path.basename(script)} exited with {proc.returncode}", file=sys.stderr)
        return 2
    actual = proc.stdout.splitlines()
    left_out = [i for i, (needed, _) in enumerate(lines) if too_old(needed)]
    expected = [text for i, (_, text) in enumerate(lines) if i not in left_out]
    if left_out and len(actual) == len(lines):
        # The script printed its own version of the marked lines: skip them by position.
        actual = [text for i, text in enumerate(actual) if i not in left_out]
    if actual != expected:
        sys.stdout.writelines(difflib.unified_diff(
            [line + "\n" for line in expected], [line + "\n" for line in actual],
            "expected (CPython 3.13)", f"python {version}"))
        return 1
    if left_out:
        print(f"python {version}: {len(expected)} lines match; {len(left_out)} need a newer "
              "interpreter and were not checked")
        return SKIP
    print(f"python {version}: all {len(expected)} lines match")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
