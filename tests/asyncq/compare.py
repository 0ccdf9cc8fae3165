#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks that `asyncq --virtual-time` prints what asyncq.py prints on a virtual-time loop.

    python3 compare.py <path to the asyncq program>

For each configuration below it runs the C++ example and asyncq_virtual.py (the seed program on
a virtual clock) with the same --seed, -p and -c, and compares the two transcripts line by line
after masking what is random or real-time in both:

* each item (`<` 10 hex digits `>`) becomes <ITEM1>, <ITEM2>, ... numbered by first appearance,
  so the comparison still checks that every consumer got the very item the matching producer
  added;
* every timing (`in 0.00012 seconds`) becomes `in T seconds`.

Exit codes: 0 all equal, 1 a difference or a failed run, 77 skipped (the interpreter is older
than asyncq_virtual.py needs; CTest's SKIP_RETURN_CODE).
"""

import difflib
import os
import re
import subprocess
import sys

MIN_PYTHON = (3, 7)
SKIP = 77

# (seed, nprod, ncon): the defaults for every seed, then a few shapes: one of each, more
# producers than consumers, no producers at all (the consumers are cancelled before they start).
CONFIGS = [(seed, 5, 10) for seed in (444, 1, 7, 2024)] + [
    (444, 1, 1),
    (7, 10, 2),
    (2024, 3, 3),
    (1, 0, 4),
]

HERE = os.path.dirname(os.path.abspath(__file__))
HARNESS = os.path.join(HERE, "asyncq_virtual.py")

ITEM = re.compile(r"<[0-9a-f]{10}>")
TIMING = re.compile(r"in [0-9]+\.[0-9]+ seconds")


def mask(text):
    numbers = {}

    def number(m):
        return "<ITEM%d>" % numbers.setdefault(m.group(0), len(numbers) + 1)

    return [TIMING.sub("in T seconds", ITEM.sub(number, line)) for line in text.splitlines()]


def run(cmd):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=120)
    if proc.returncode != 0 or proc.stderr:
        sys.stdout.write("FAIL: %s exited with %d\n---- stderr ----\n%s\n"
                         % (" ".join(cmd), proc.returncode, proc.stderr))
        return None
    return proc.stdout


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: compare.py <asyncq program>\n")
        return 2
    if sys.version_info < MIN_PYTHON:
        print("SKIP: asyncq_virtual.py needs Python %d.%d or later; this is %s"
              % (MIN_PYTHON + (sys.version.split()[0],)))
        return SKIP
    program = argv[1]
    failures = 0
    for seed, nprod, ncon in CONFIGS:
        args = ["--seed", str(seed), "-p", str(nprod), "-c", str(ncon)]
        label = "seed %d, -p %d, -c %d" % (seed, nprod, ncon)
        cpp = run([program, "--virtual-time"] + args)
        py = run([sys.executable, HARNESS] + args)
        if cpp is None or py is None:
            failures += 1
            continue
        want, got = mask(py), mask(cpp)
        if want != got:
            failures += 1
            print("FAIL: %s: the transcripts differ (--- Python, +++ C++)" % label)
            sys.stdout.writelines(line + "\n" for line in difflib.unified_diff(
                want, got, "asyncq_virtual.py", "asyncq --virtual-time", lineterm=""))
        else:
            print("ok: %s: %d lines alike" % (label, len(got)))
    print("Python %s, %d of %d configurations alike"
          % (sys.version.split()[0], len(CONFIGS) - failures, len(CONFIGS)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
