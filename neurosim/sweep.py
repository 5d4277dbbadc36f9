"""T x D sweeps: each point simulates a model at an inference T and D, scores its detections and
costs the run on a chip. Points run in parallel on Dask (a local cluster, or an existing one)
and are saved one file per point as they finish, so a rerun computes only the missing points.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .errors import NeurosimError
from .fsutil import write_text_atomic
from .ir import ILIF, Graph, load_graph


@dataclass(frozen=True)
class SweepPoint:
    model: str
    T: int
    D: int | None
    chip: str
    images: int
    seed: int = 0

    @property
    def key(self) -> str:
        digest = hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:10]
        return f"{Path(self.model).name}_T{self.T}_D{self.D or 'x'}_{self.chip}_{digest}"


def with_max_spike(graph: Graph, D: int) -> Graph:
    """The graph with every I-LIF's D replaced (inference at another number of virtual steps)."""
    nodes = [ILIF(name=n.name, inputs=n.inputs, decay=n.decay, max_spike=D, decay_input=n.decay_input)
             if isinstance(n, ILIF) else n for n in graph.nodes]
    metadata = dict(graph.metadata, D=D)
    return Graph.from_nodes(nodes, graph.outputs, metadata)


def plan_points(models: list[str], Ts: list[int] | None, Ds: list[int] | None, chip: str, images: int,
                seed: int = 0) -> list[SweepPoint]:
    """One model: every (T, D) of the lists (its own T/D where a list is omitted). Several models
    (trained per point): each at its own T and D unless lists are given."""
    points = []
    for model in models:
        graph = load_graph(model)
        has_ilif = any(isinstance(n, ILIF) for n in graph.nodes)
        own_T = int(graph.metadata.get("T", 1))
        own_D = graph.metadata.get("D") if has_ilif else None
        if Ds and not has_ilif:
            raise NeurosimError(f"--D sets the integer spike limit of I-LIF neurons, and {model} has none; "
                                f"sweep it without --D")
        for T in (Ts or [own_T]):
            for D in ((Ds if has_ilif else None) or [own_D]):
                points.append(SweepPoint(str(model), int(T), None if D is None else int(D), chip, images, seed))
    return points


def run_point(point: SweepPoint) -> dict:
    """Simulate, score and cost one point (runs on a Dask worker)."""
    import neurosim.hw as hw

    from .cli.common import detection_accuracy, model_inputs
    from .sim import simulate

    graph = load_graph(point.model)
    if point.D is not None:
        graph = with_max_spike(graph, point.D)
    x, dataset = model_inputs(graph, point.T, point.images, None, point.seed)
    result = simulate(graph, x)
    accuracy = detection_accuracy(graph, dataset, result) if dataset is not None else None
    model = hw.hardware_model(point.chip)
    row = dict(asdict(point), key=point.key)
    try:
        report = model.cost(result.trace, model.place(graph), graph)
    except NeurosimError as exc:  # DoesNotFit: the point is recorded as not fitting
        return dict(row, fits=False, reason=str(exc), map50=accuracy and accuracy["map50"],
                    map=accuracy and accuracy["map"])
    totals = report.totals()
    comparisons = {c["ann_profile"]: c for c in (report.ann_twin or {}).get("comparisons", [])}
    rates = [result.trace[n.name].firing_rate() for n in graph.nodes
             if n.is_neuron and graph.kinds[n.name] != "analog"]
    return dict(row, fits=True, energy_uJ=totals["energy_per_inference"] * 1e6,
                latency_ms=(totals["latency_per_inference"] or 0) * 1e3,
                mean_firing_rate=float(np.mean(rates)) if rates else 0.0,
                ann_energy_uJ=comparisons.get("ann-45nm", {}).get("ann_energy_per_inference", float("nan")) * 1e6,
                snn_over_ann_paper=comparisons.get("paper-45nm", {}).get("snn_over_ann"),
                map50=accuracy and accuracy["map50"], map=accuracy and accuracy["map"])


#: how long to wait for a --scheduler to answer before saying it cannot be reached
SCHEDULER_TIMEOUT_S = 10


@contextlib.contextmanager
def dask_client(workers: int = 2, scheduler: str | None = None):
    """A Dask client: of the scheduler at ``scheduler``, else of a local cluster of ``workers``
    single-threaded processes (closed on exit)."""
    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout=SCHEDULER_TIMEOUT_S)
        except (OSError, ValueError, TypeError) as exc:  # a malformed address, or nothing listening there
            raise NeurosimError(f"cannot reach the Dask scheduler at {scheduler!r} ({exc})") from None
        cluster = None
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.CRITICAL)
        client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_sweep(points: list[SweepPoint], out_dir, workers: int = 2, scheduler: str | None = None,
              quiet: bool = False) -> tuple[list[dict], list[str]]:
    """Run the points not yet saved under ``out_dir/points``; return (all rows, keys computed now)."""
    from dask.distributed import as_completed
    from tqdm import tqdm

    point_dir = Path(out_dir) / "points"
    todo = [p for p in points if not (point_dir / f"{p.key}.json").is_file()]
    computed = []
    if todo:
        with dask_client(workers, scheduler) as client:
            point_dir.mkdir(parents=True, exist_ok=True)
            futures = client.map(run_point, todo, pure=False)
            for future in tqdm(as_completed(futures), total=len(futures), desc="sweep", disable=quiet):
                row = future.result()
                write_text_atomic(point_dir / f"{row['key']}.json", json.dumps(row, indent=1) + "\n")
                computed.append(row["key"])
    rows = [json.loads((point_dir / f"{p.key}.json").read_text()) for p in points]
    return rows, computed


CSV_FIELDS = ("model", "T", "D", "chip", "images", "fits", "map50", "map", "energy_uJ", "latency_ms",
              "mean_firing_rate", "ann_energy_uJ", "snn_over_ann_paper")


def write_outputs(rows: list[dict], out_dir, twins: list[dict] | None = None) -> None:
    """sweep.csv and the Pareto figure (energy per inference vs mAP@50)."""
    out = Path(out_dir)
    lines = [",".join(CSV_FIELDS)] + [",".join("" if r.get(f) is None else str(r.get(f)) for f in CSV_FIELDS)
                                       for r in rows]
    write_text_atomic(out / "sweep.csv", "\n".join(lines) + "\n")
    fitted = [r for r in rows if r.get("fits") and r.get("map50") is not None]
    if not fitted:
        return
    from .report.figures import pareto

    pareto(fitted, out / "sweep.png", twins)


def pareto_front(rows: list[dict]) -> list[dict]:
    """Points not beaten by another with both lower energy and higher mAP@50."""
    return [r for r in rows if not any(o["energy_uJ"] <= r["energy_uJ"] and o["map50"] >= r["map50"]
                                       and (o["energy_uJ"] < r["energy_uJ"] or o["map50"] > r["map50"])
                                       for o in rows)]


