"""`make bench` entry point: the boundary check, the per-call bench, then the segment
bench at 100k users.

The segment bench's own default is 1M users / 20M events; at that size siyu's bulk path
needs about 18 GB today (see docs/benchmarks.md, "Python: segments"), so `make bench`
runs the 100k size. Run bench_segments.py directly for other sizes.
"""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for args in (["check_edges.py"], ["bench_per_call.py"], ["bench_segments.py", "--users", "100000", "--phases"]):
    subprocess.run([sys.executable, str(HERE / args[0]), *args[1:]], check=True)
