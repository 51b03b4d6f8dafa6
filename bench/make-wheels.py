#!/usr/bin/env python3
"""Writes the python-wheels workload's local wheels and requirements: the 36 chained
`kiln-dep-NN` pure-Python wheels of the test fixtures (Tests/KilnTestSupport/TestWheels.swift),
made by the fixtures' own wheel maker, read out of that Swift source so that the bench and the
tests cannot drift apart. Usage: make-wheels.py REPO CONTEXT  (writes CONTEXT/wheels/*.whl and
CONTEXT/requirements.txt)"""
import json, os, re, subprocess, sys

repo, context = sys.argv[1], sys.argv[2]
source = open(os.path.join(repo, "Tests/KilnTestSupport/TestWheels.swift")).read()
maker = re.search(r'private static let script = #"""\n(.*?)"""#', source, re.S).group(1)

def dependency(index):
    return "kiln-dep-%02d" % index

# As TestWheels.dependencySet: chained in threes (01 requires 02, 02 requires 03; 04 requires 05 …).
wheels = [{"name": dependency(i), "version": "1.0.%d" % i,
           "requires": [] if i % 3 == 0 else [dependency(i + 1)], "size": 4_000 + 1_000 * i}
          for i in range(1, 37)]
subprocess.run([sys.executable, "-c", maker, os.path.join(context, "wheels"), json.dumps(wheels)], check=True)
with open(os.path.join(context, "requirements.txt"), "w") as f:
    f.write("".join(dependency(i) + "\n" for i in range(1, 37, 3)))
