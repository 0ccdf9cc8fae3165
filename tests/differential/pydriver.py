# SPDX-License-Identifier: MIT
"""Runs generated Python programs in one interpreter: pydriver.py OUT.json PROG.py...

Writes {name: {"lines": [...], "verdict": "ok" | why rejected, "version": "3.13.0"}}. Each
program runs in a fresh module namespace on a fresh virtual-time loop (pyrt.py)."""

import json
import logging
import os
import platform
import sys
import types
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyrt  # noqa: E402

logging.getLogger("asyncio").setLevel(logging.CRITICAL)  # "never retrieved" is not compared
# A rejected (deadlocked) program leaves coroutines that complain when collected: not compared.
sys.unraisablehook = lambda unraisable: None
warnings.simplefilter("ignore")


def run_file(path):
    mod = types.ModuleType("prog")
    mod.__file__ = path
    with open(path) as f:
        src = f.read()
    try:
        exec(compile(src, path, "exec"), mod.__dict__)
    except SyntaxError as e:
        return {"lines": [], "verdict": "python error: %r" % (e,)}
    try:
        lines, verdict = pyrt.run_program(mod.main, mod.setup)
    except Exception as e:  # a defect of the generator, not of the program
        lines, verdict = list(pyrt.OUT), "python error: %r" % (e,)
    return {"lines": lines, "verdict": verdict}


def main():
    out, paths = sys.argv[1], sys.argv[2:]
    res = {}
    for p in paths:
        r = run_file(p)
        r["version"] = platform.python_version()
        res[os.path.splitext(os.path.basename(p))[0]] = r
    with open(out, "w") as f:
        json.dump(res, f)


if __name__ == "__main__":
    main()
