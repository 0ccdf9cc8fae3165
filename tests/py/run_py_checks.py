#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs one CPython twin script and compares its output with <script>.expected.

    python3 run_py_checks.py SCRIPT.py

The expected files hold CPython 3.13's output. A line that only newer interpreters print starts
with a version mark, `@3.12+ ` or `@3.13+ ` (the script prints it through pysupport.show with
`since=`); on an older interpreter such lines are left out of the comparison, and when the rest
matches the exit code is 77, which CTest reports as skipped (SKIP_RETURN_CODE). Exit code 0 means
every line matched, 1 a difference (printed as a unified diff), 2 a script that failed.
"""

import difflib
import os
import re
import subprocess
import sys

SKIP = 77
MARK = re.compile(r"^@(\d+)\.(\d+)\+ (.*)$")


def expected_lines(path):
    kept, left_out = [], 0
    with open(path, encoding="utf-8") as f:
        for line in f.read().splitlines():
            m = MARK.match(line)
            if m:
                if sys.version_info[:2] < (int(m.group(1)), int(m.group(2))):
                    left_out += 1
                    continue
                line = m.group(3)
            kept.append(line)
    return kept, left_out


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    script = os.path.abspath(argv[1])
    expected, left_out = expected_lines(os.path.splitext(script)[0] + ".expected")
    proc = subprocess.run([sys.executable, "-B", script], cwd=os.path.dirname(script),
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        print(f"{os.path.basename(script)} exited with {proc.returncode}", file=sys.stderr)
        return 2
    actual = proc.stdout.splitlines()
    version = "%d.%d.%d" % sys.version_info[:3]
    if actual != expected:
        sys.stdout.writelines(difflib.unified_diff(
            [line + "\n" for line in expected], [line + "\n" for line in actual],
            "expected (CPython 3.13)", f"python {version}"))
        return 1
    if left_out:
        print(f"python {version}: {len(expected)} lines match; {left_out} need a newer "
              "interpreter and were not checked")
        return SKIP
    print(f"python {version}: all {len(expected)} lines match")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
