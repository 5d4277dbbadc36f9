"""PyTorch bridge for the numpy datasets (the only module of ``neurosim.data`` importing torch).

``TorchDetectionDataset(ds)`` returns ``(x, target)`` with ``x`` a float32 tensor [T, C, H, W]
and ``target`` = {boxes float32 [N, 4] xyxy, labels int64 [N], image_id int}.
``collate_detection`` stacks a batch to ``x`` [B, T, C, H, W] and keeps the targets as a list.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset


class TorchDetectionDataset(Dataset):
    """Wraps a ``ShapesDataset``/``CocoDataset``/``Gen1Dataset`` (anything with ``__len__`` and
    ``__getitem__ -> (x, target)``) as a ``torch.utils.data.Dataset``."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        x, target = self.dataset[index]
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), {
            "boxes": torch.from_numpy(np.asarray(target["boxes"], dtype=np.float32).reshape(-1, 4)),
            "labels": torch.from_numpy(np.asarray(target["labels"], dtype=np.int64).reshape(-1)),
            "image_id": int(target["image_id"]),
        }


def collate_detection(batch: Sequence[tuple[torch.Tensor, dict]]) -> tuple[torch.Tensor, list[dict]]:
    """[(x [T, C, H, W], target), ...] -> (x [B, T, C, H, W], [target, ...])."""
    xs, targets = zip(*batch)
    return torch.stack(xs, dim=0), list(targets)
