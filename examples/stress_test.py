"""The diagnostic stress test: can a pooler find one short phrase among distractor words?

    python examples/stress_test.py [--output stress-test-results/]
    ST_GLOT_EXAMPLE_QUICK=1 python examples/stress_test.py

Runs the command ``st-glot stress-test``, which trains GLOT and mean pooling (plus a
linear classifier) on the same frozen all-MiniLM-L6-v2 states and prints their accuracy
at each distractor ratio; ``st-glot stress-test --help`` lists every option. Quick mode uses 64 training
texts, one ratio and one epoch.
"""

import argparse
import os
import subprocess
import sys
import tempfile

QUICK = os.environ.get("ST_GLOT_EXAMPLE_QUICK") == "1"

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--output", default=None, help="results folder (default: a temporary folder)")
args = parser.parse_args()

output = args.output or tempfile.mkdtemp(prefix="glot-stress-")
size = (
    ["--ratios", "0.5", "--train-size", "64", "--eval-size", "32", "--epochs", "1", "--explain", "0"]
    if QUICK
    else ["--ratios", "0.2,0.5,0.8", "--train-size", "1000", "--eval-size", "300", "--epochs", "3"]
)
command = [sys.executable, "-m", "st_glot", "stress-test", "--methods", "glot,mean", "--output", output, "--quiet"]
done = subprocess.run([*command, *size])
if done.returncode:
    sys.exit(done.returncode)
print(f"results in {output}: results.md, results.json, accuracy.png")
