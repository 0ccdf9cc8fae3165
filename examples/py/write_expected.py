#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes examples/<name>.expected from the output of the Python twin examples/py/<name>.py.

    PYENV_VERSION=3.13.0 python3 examples/py/write_expected.py NAME [ARG...]

The expected file holds one CMake regular expression per line (cmake/check_output.cmake): the
twin's lines with the characters special to CMake's regular expressions escaped, so each line
must be printed exactly, by the C++ example and by the twin (both are CTest tests).
"""

import os
import re
import subprocess
import sys

SPECIAL = re.compile(r"([\[\]().*+?^$|\\])")


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    here = os.path.dirname(os.path.abspath(__file__))
    name = argv[1]
    out = subprocess.run([sys.executable, "-B", os.path.join(here, name + ".py"), *argv[2:]],
                         capture_output=True, text=True, check=True).stdout
    path = os.path.join(os.path.dirname(here), name + ".expected")
    with open(path, "w", encoding="utf-8") as f:
        for line in out.splitlines():
            f.write(SPECIAL.sub(r"\\\1", line) + "\n")
    print(f"wrote {path} ({len(out.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
