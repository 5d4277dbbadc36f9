"""Which ANN twin profile each SNN profile is compared with, so that each pair shares one
technology: the papers' convention with itself, int8 SNN hardware with the int8 dense
accelerator, every other profile with the fp32 one; memory-45nm also against the ANN without
data reuse (its best case)."""
from __future__ import annotations

NAIVE_TWIN = "ann-45nm-noreuse"  # the ANN without data reuse: memory-45nm's best case
NAIVE_LABEL = "memory-45nm vs naive ANN"
LOIHI_INT8_TWIN = "ann-45nm-int8"
LOIHI_INT8_LABEL = "loihi vs int8 ANN"  # Loihi's weights are 8-bit at most: the int8 twin is its closer match


def twin_reference(profile: str) -> str:
    """The ANN-twin profile each SNN profile is compared with: the papers' convention with itself,
    int8 SNN hardware with the int8 dense accelerator, everything else with the fp32 one."""
    return {"paper-45nm": "paper-45nm", "memory-45nm-int8": "ann-45nm-int8"}.get(profile, "ann-45nm")


def columns(profiles) -> list[tuple[str, str, str]]:
    """(label, SNN profile, ANN twin profile) per column: each profile against its twin profile,
    memory-45nm also against the naive twin and Loihi also against the int8 twin, right after them."""
    out = []
    for p in profiles:
        out.append((p, p, twin_reference(p)))
        if p == "memory-45nm":
            out.append((NAIVE_LABEL, p, NAIVE_TWIN))
        if p == "loihi":
            out.append((LOIHI_INT8_LABEL, p, LOIHI_INT8_TWIN))
    return out
