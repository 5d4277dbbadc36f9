"""Peak memory of a whole-dataset run on a chip: shard by shard (``--workers``) vs all at once.

For a trained detector and its test split, each run is a fresh process that reports its own
peak resident set (VmHWM, ``resource.getrusage``) and how long it took:

* ``all at once``: ``neurosim simulate MODEL --images N --chip CHIP`` (one process simulates the
  N images together and costs the whole trace);
* ``sharded``: ``neurosim simulate MODEL --images N --chip CHIP --workers 2 --shard-size S
  --out DIR`` (workers simulate and cost shard by shard; the main process reads one shard at a
  time and merges). Its own peak is reported, and the largest worker's (Dask's
  ``memory_limit`` bookkeeping is not used: each worker reports its VmHWM at the end).

Memory that does not grow with N is the point: a COCO val pass is N = 5000.

    .venv/bin/python benchmarks/bench_dataset_memory.py --model spikeyolo-gen1 --chip loihi
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

CHILD = r"""
import json, resource, sys, time
start = time.perf_counter()
from neurosim.cli import main
args = json.loads(sys.argv[1])
workers_peak = None
if "--workers" in args:
    import neurosim.sweep as sweep
    original = sweep.dask_client
    import contextlib

    @contextlib.contextmanager
    def watched(*a, **k):
        global workers_peak
        with original(*a, **k) as client:
            yield client
            peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
            workers_peak = max(peaks.values()) / 1024
    sweep.dask_client = watched
import io, contextlib
with contextlib.redirect_stdout(io.StringIO()):
    rc = main(args)
print(json.dumps({"rc": rc, "seconds": time.perf_counter() - start,
                  "peak_MiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "workers_peak_MiB": workers_peak}))
"""


def run(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(args)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="spikeyolo-gen1")
    ap.add_argument("--chip", default="loihi")
    ap.add_argument("--images", type=int, nargs="+", default=[19, 38, 76, 152])
    ap.add_argument("--shard-size", type=int, default=19)
    opts = ap.parse_args()
    print(f"{opts.model} on {opts.chip}, shards of {opts.shard_size} images, 2 workers")
    print("| images | all at once: peak MiB | s | sharded: main peak MiB | worker peak MiB | s |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n in opts.images:
        base = ["simulate", opts.model, "--images", str(n), "--chip", opts.chip, "--quiet"]
        alone = run(base)
        with tempfile.TemporaryDirectory() as out:
            spread = run(base + ["--workers", "2", "--shard-size", str(opts.shard_size), "--out", out])
        print(f"| {n} | {alone['peak_MiB']:.0f} | {alone['seconds']:.1f} | {spread['peak_MiB']:.0f} | "
              f"{spread['workers_peak_MiB']:.0f} | {spread['seconds']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
