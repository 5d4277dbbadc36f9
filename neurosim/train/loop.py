"""The training loop: AdamW with warmup and cosine decay, periodic validation mAP, checkpoints,
resume, deterministic seeding, worker processes, and torch.distributed (torchrun; gloo on CPU,
NCCL on GPU).

Validation decodes the raw head outputs with the same numpy decoder the simulator uses
(:func:`neurosim.detect.decode`) and scores them with pycocotools through the dataset.
"""
from __future__ import annotations

import json
import math
import os
import platform
import random
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from ..detect import HeadSpec, decode
from ..errors import NeurosimError
from ..fsutil import atomic_path, write_text_atomic
from ..losses import make_loss
from ..models.neurons import HoyerSpike
from ..models.registry import build_model
from .data import build_dataset, dataset_info, ensure_dataset, horizontal_flip

CHECKPOINT_VERSION = 1


# ----------------------------------------------------------------------------- distributed
def distributed_context():
    """(rank, world_size, device); initializes torch.distributed when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu")
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    rank = torch.distributed.get_rank() if world > 1 else 0
    return rank, world, device


def seed_everything(seed: int):
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _worker_init(worker_id: int):
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


class _TrainSamples(torch.utils.data.Dataset):
    """Numpy samples as tensors, with a random horizontal flip."""

    def __init__(self, dataset, hflip: bool):
        self.dataset, self.hflip = dataset, hflip

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        x, target = self.dataset[i]
        if self.hflip and np.random.random() < 0.5:
            x, target = horizontal_flip(x, target)
        return torch.from_numpy(np.array(x, np.float32)), {
            "boxes": torch.from_numpy(np.asarray(target["boxes"], np.float32).reshape(-1, 4)),
            "labels": torch.from_numpy(np.asarray(target["labels"], np.int64))}


def _collate(batch):
    xs, targets = zip(*batch)
    return torch.stack(xs), list(targets)


# ----------------------------------------------------------------------------- evaluation
@torch.no_grad()
def predict(model, dataset, spec: HeadSpec, batch_size: int = 16, limit: int | None = None, device="cpu"):
    """Detections of ``model`` on the first ``limit`` samples of ``dataset`` (eval mode)."""
    was_training = model.training
    model.eval()
    n = len(dataset) if limit is None else min(limit, len(dataset))
    detections = []
    for start in range(0, n, batch_size):
        xs = np.stack([dataset[i][0] for i in range(start, min(n, start + batch_size))])
        outputs = model(torch.from_numpy(xs).to(device))
        named = {name: o.float().cpu().numpy() for name, o in zip(spec.outputs, outputs)}
        detections += decode(spec, named)
    model.train(was_training)
    return detections


def evaluate_detections(dataset, detections) -> dict:
    """COCO stats of a whole split (Gen1 sets use the Prophesee protocol)."""
    return dataset.evaluate(dict(enumerate(detections)))


def firing_rates(model, dataset, n: int = 16, device="cpu") -> dict:
    """Mean output spike value per neuron per timestep of every spiking module (torch hooks)."""
    rates, hooks = {}, []
    for name, module in model.named_modules():
        if hasattr(module, "ir_node") and module.ir_node()[0] != "relu":
            hooks.append(module.register_forward_hook(
                lambda m, i, o, name=name: rates.setdefault(name, []).append(float(o.float().mean()))))
    model.eval()
    with torch.no_grad():
        xs = np.stack([dataset[i][0] for i in range(min(n, len(dataset)))])
        model(torch.from_numpy(xs).to(device))
    for h in hooks:
        h.remove()
    return {k: float(np.mean(v)) for k, v in rates.items()}


def weights_digest(model, parameters_only: bool = False) -> str:
    """SHA-256 of every parameter and buffer (to compare runs), or of the parameters only (to
    compare distributed replicas: BN running statistics are per-rank buffers)."""
    import hashlib

    h = hashlib.sha256()
    tensors = dict(model.named_parameters()) if parameters_only else model.state_dict()
    for name, tensor in sorted(tensors.items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


# ----------------------------------------------------------------------------- checkpoints
def save_checkpoint(path: Path, state: dict):
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise NeurosimError(f"checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # torch raises many types for a damaged file
        raise NeurosimError(f"checkpoint {path} is not readable ({type(exc).__name__})") from None
    if not isinstance(state, dict) or state.get("version") != CHECKPOINT_VERSION or "model" not in state:
        raise NeurosimError(f"{path} is not a neurosim checkpoint (version {CHECKPOINT_VERSION})")
    return state


def model_from_checkpoint(state: dict):
    info = state["dataset_info"]
    model = build_model(state["config"]["model"] | {"T": state["config"]["data"]["T"]}, info["num_classes"],
                        info["input_shape"][1:], in_channels=info["input_shape"][0])
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state["model"].items()})
    model.eval()
    return model


def head_spec_of(model, info) -> HeadSpec:
    return HeadSpec.from_dict(model.head_spec(info["input_shape"][1:]))


# ----------------------------------------------------------------------------- training
def train(config: dict, out_dir, resume: bool = False, quiet: bool = False, stop_after: int | None = None) -> dict:
    """Train per ``config`` into ``out_dir`` (last.pt, best.pt, history.json); return the summary.

    ``stop_after`` ends the run after that many epochs in this call (as an interruption
    would: the schedule still spans ``train.epochs``); ``resume`` continues from last.pt.
    Each epoch's shuffle is seeded by (seed, epoch), so a resumed run equals an uninterrupted one.
    """
    rank, world, device = distributed_context()
    out_dir = Path(out_dir)
    tcfg = config["train"]
    if tcfg["threads"]:
        torch.set_num_threads(int(tcfg["threads"]))
    seed_everything(config["seed"] + rank)
    if rank == 0:
        ensure_dataset(config)
    if world > 1:
        torch.distributed.barrier()
    train_set = build_dataset(config, "train")
    val_set = build_dataset(config, "val")
    info = dataset_info(train_set)
    model_cfg = dict(config["model"], T=config["data"]["T"])
    model_cfg = {k: v for k, v in model_cfg.items() if v is not None}
    seed_everything(config["seed"])  # identical initial weights on every rank
    model = build_model(model_cfg, info["num_classes"], info["input_shape"][1:], info["input_shape"][0]).to(device)
    spec = head_spec_of(model, info)
    loss_fn = make_loss(spec)
    optimizer = torch.optim.AdamW(model.parameters(), lr=tcfg["lr"], weight_decay=tcfg["weight_decay"])
    epochs = tcfg["epochs"]
    per_rank_batch = max(1, tcfg["batch_size"] // world)
    sampler = torch.utils.data.DistributedSampler(train_set, world, rank, shuffle=True, seed=config["seed"]) \
        if world > 1 else None
    generator = torch.Generator().manual_seed(config["seed"])
    loader = DataLoader(_TrainSamples(train_set, tcfg["hflip"]), batch_size=per_rank_batch, shuffle=sampler is None,
                        sampler=sampler, num_workers=tcfg["workers"], collate_fn=_collate, drop_last=True,
                        worker_init_fn=_worker_init, generator=generator)
    steps_per_epoch = max(1, len(loader))
    warmup = tcfg["warmup_epochs"] * steps_per_epoch
    total_steps = epochs * steps_per_epoch

    def lr_factor(step):
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total_steps - warmup))) * 0.95 + 0.05

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    start_epoch, best, history, elapsed = 0, -1.0, [], 0.0
    last_path, best_path = out_dir / "last.pt", out_dir / "best.pt"
    if resume and last_path.is_file():
        state = load_checkpoint(last_path)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start_epoch, best, history, elapsed = state["epoch"] + 1, state["best_map50"], state["history"], state["elapsed_s"]
        torch.set_rng_state(state["rng"]["torch"])
        np.random.set_state(state["rng"]["numpy"])
    ddp_model = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model
    hoyer_layers = [m for m in model.modules() if isinstance(m, HoyerSpike)]
    end_epoch = epochs if stop_after is None else min(epochs, start_epoch + stop_after)
    for epoch in range(start_epoch, end_epoch):
        generator.manual_seed(config["seed"] * 1000 + epoch)
        if sampler is not None:
            sampler.set_epoch(epoch)
        ddp_model.train()
        t0 = time.perf_counter()
        running, seen = 0.0, 0
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{epochs}", disable=quiet or rank != 0, leave=False)
        for xs, targets in bar:
            xs = xs.to(device)
            targets = [{k: v.to(device) for k, v in t.items()} for t in targets]
            outputs = ddp_model(xs)
            loss, parts = loss_fn(outputs, targets)
            if hoyer_layers and tcfg["hoyer_decay"]:
                loss = loss + tcfg["hoyer_decay"] * sum(m.regularizer for m in hoyer_layers)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), tcfg["grad_clip"])
            optimizer.step()
            scheduler.step()
            running += float(loss.detach()) * len(xs)
            seen += len(xs)
            bar.set_postfix(loss=f"{running / seen:.3f}", img_s=f"{seen / (time.perf_counter() - t0):.1f}")
        epoch_time = time.perf_counter() - t0
        elapsed += epoch_time
        record = {"epoch": epoch + 1, "loss": running / max(seen, 1), "epoch_s": epoch_time,
                  "img_per_s": seen * world / epoch_time}
        last_epoch = epoch + 1 == epochs
        if rank == 0 and ((epoch + 1) % tcfg["val_every"] == 0 or last_epoch):
            stats = evaluate_detections(val_set, predict(model, val_set, spec, device=device))
            record.update(map50=stats["AP50"], map=stats["AP"])
        history.append(record)
        if rank == 0:
            if not quiet:
                extra = f", val mAP@50 {record['map50']:.3f}" if "map50" in record else ""
                tqdm.write(f"epoch {epoch + 1}/{epochs}: loss {record['loss']:.4f}, {record['img_per_s']:.1f} img/s{extra}")
            state = {"version": CHECKPOINT_VERSION, "config": config, "dataset_info": info, "model": model.state_dict(),
                     "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "epoch": epoch,
                     "best_map50": best, "history": history, "elapsed_s": elapsed,
                     "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state()}}
            if record.get("map50", -1) > best:
                best = record["map50"]
                state["best_map50"] = best
                save_checkpoint(best_path, state)
            save_checkpoint(last_path, state)
            write_text_atomic(out_dir / "history.json", json.dumps(history, indent=1) + "\n")
    summary = {"epochs": epochs, "best_map50": best, "elapsed_s": elapsed, "world_size": world,
               "weights_sha256": weights_digest(model),
               "parameters_sha256": weights_digest(model, parameters_only=True),
               "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
               "history": history}
    if world > 1:
        torch.distributed.barrier()
    return summary
