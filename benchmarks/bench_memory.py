"""Peak memory of simulating one paper-scale image: SpikeYOLO-s and EMS-ResNet34 at 3x640x640.

For each graph (random weights, built by ``neurosim.claims.architectures.build_graph`` and
saved once to a temporary folder) and each T, a fresh process loads the graph, simulates one
seeded synthetic image at that T and reports:

* ``tracemalloc peak``: the most memory allocated through Python's allocators (numpy arrays
  included) during ``simulate`` alone;
* ``peak RSS``: the process's resident-set high-water mark (``VmHWM``) after the run, i.e.
  the whole process (interpreter, numba, the loaded graph and the run), and the same mark just
  after loading the graph, before simulating.

Memory must not grow with T (state is per neuron, never per timestep). The numba cache is
warmed in a first process, so that compilation does not count.

    .venv/bin/python benchmarks/bench_memory.py [--T 1,2,4] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

GRAPHS = ("spikeyolo-s-640", "ems-resnet34-640")

CHILD = """
import json, os, resource, sys, time, tracemalloc
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

def high_water_MiB():
    # VmHWM belongs to this process image; ru_maxrss on Linux survives exec from the parent
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

from neurosim.examples import example_input
from neurosim.ir import load_graph
from neurosim.sim import simulate
graph = load_graph(sys.argv[1])
x = example_input(graph, int(sys.argv[2]), 1, 0)
loaded = high_water_MiB()
tracemalloc.start()
start = time.perf_counter()
result = simulate(graph, x, progress=False)
seconds = time.perf_counter() - start
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
spikes = sum(float(n.out_spikes.sum()) for n in result.trace if n.kind != "analog")
print(json.dumps({"tracemalloc_peak_MiB": peak / 2**20, "rss_peak_MiB": high_water_MiB(),
                  "rss_after_load_MiB": loaded, "seconds": seconds, "spikes": spikes}))
"""


BUILD = """
import sys
from neurosim.claims.architectures import build_graph
from neurosim.ir import save_graph
save_graph(build_graph(sys.argv[1]), sys.argv[2])
"""


def measure(graph_dir: Path, timesteps: int) -> dict:
    run = subprocess.run([sys.executable, "-c", CHILD, str(graph_dir), str(timesteps)], capture_output=True,
                         text=True, check=True)
    return json.loads(run.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--T", default="1,2,4", help="comma-separated timesteps")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args(argv)
    from neurosim.ir import load_graph

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in GRAPHS:
            graph_dir = Path(tmp) / name
            subprocess.run([sys.executable, "-c", BUILD, name, str(graph_dir)], check=True)  # torch stays out of here
            graph = load_graph(graph_dir)
            neurons = sum(int(np.prod(graph.shapes[n.name])) for n in graph.nodes
                          if graph.kinds[n.name] != "analog" and n.op != "input")
            weights = sum(n.weight.nbytes for n in graph.nodes if getattr(n, "weight", None) is not None)
            measure(graph_dir, 1)  # warm numba's cache
            for T in (int(t) for t in args.T.split(",")):
                row = {"graph": name, "T": T, "spiking_neurons_M": neurons / 1e6, "weights_MiB": weights / 2**20,
                       **measure(graph_dir, T)}
                rows.append(row)
                print(f"{name:18s} T={T}  tracemalloc peak {row['tracemalloc_peak_MiB']:7.0f} MiB   peak RSS "
                      f"{row['rss_peak_MiB']:7.0f} MiB (after loading the graph {row['rss_after_load_MiB']:5.0f})   "
                      f"{row['seconds']:.2f} s", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    main()
