"""The Lambda package's figures: zipped and unzipped size against Lambda's limits, and the cold
import time of `app` in the Lambda-like sandbox (a fresh virtualenv holding only boto3).

    .venv/bin/python bench/lambda_package.py [--runs 5] [--stage dev]

Builds with `make package` (as the README says), extracts deployment.zip, and imports `app` in a
new sandbox process `--runs` times, writing no bytecode (Lambda's task root is read-only and the
package ships none, so every cold start compiles it); prints the median and every run.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.e2e.lambda_sandbox import build_package, extract, make_sandbox  # noqa: E402

MB = 1024 * 1024
IMPORT = "import sys, time; sys.path.insert(0, sys.argv[1]); t, c = time.perf_counter(), time.process_time(); " \
         "import app; print(time.perf_counter() - t, time.process_time() - c)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--stage", default="dev")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        package = build_package(base / "package", stage=args.stage)
        task_root = extract(package, base / "var-task")
        python = make_sandbox(base / "venv")
        with zipfile.ZipFile(package.zip_path) as archive:
            unzipped = sum(info.file_size for info in archive.infolist())
        zipped = package.zip_path.stat().st_size
        env = {"PATH": "/usr/bin:/bin", "LANG": "en_US.UTF-8", "AWS_REGION": "us-east-1",
               "AWS_DEFAULT_REGION": "us-east-1", "TASKLANE_STAGE": args.stage}
        times, cpu = [], []
        for _ in range(args.runs):
            out = subprocess.run([str(python), "-I", "-B", "-c", IMPORT, str(task_root)], cwd=task_root, env=env,
                                 capture_output=True, text=True, check=True)
            wall, used = out.stdout.split()
            times.append(float(wall))
            cpu.append(float(used))
    print(f"deployment.zip   {zipped / MB:6.1f} MB zipped   (Lambda limit 50 MB, {zipped / (50 * MB):.0%})")
    print(f"                 {unzipped / MB:6.1f} MB unzipped (Lambda limit 250 MB, {unzipped / (250 * MB):.0%})")
    print(f"cold `import app` median of {args.runs}: {statistics.median(times) * 1000:.0f} ms "
          f"(runs: {', '.join(f'{t * 1000:.0f}' for t in times)} ms); "
          f"CPU time median {statistics.median(cpu) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
