"""Datasets: synthetic frame (shapes) and event (gen1-synth) sets, Gen1/COCO readers, encoders.

torch is imported only by :mod:`neurosim.data.torch_adapter`; import it explicitly.
"""
from neurosim.data.coco import CocoDetection, load_coco, load_image
from neurosim.data.datasets import CocoDataset, Gen1Dataset, ShapesDataset
from neurosim.data.encoders import (
    ENCODERS,
    encode,
    encode_gray,
    encode_histogram,
    encode_voxel_binary,
    encoder_channels,
    resize_nearest,
)
from neurosim.data.esim import EventSimulator
from neurosim.data.gen1_io import (
    BBOX_DTYPE,
    EVENT_DTYPE,
    LEGACY_BBOX_DTYPE,
    DatFile,
    load_bboxes,
    load_events,
    read_dat_header,
    write_bboxes,
    write_dat,
)
from neurosim.data.gen1_synth import (
    GEN1_RESOLUTIONS,
    generate_gen1_synth,
    simulate_recording,
)
from neurosim.data.shapes import generate_shapes, load_shapes

__all__ = [
    "BBOX_DTYPE",
    "ENCODERS",
    "EVENT_DTYPE",
    "GEN1_RESOLUTIONS",
    "LEGACY_BBOX_DTYPE",
    "CocoDataset",
    "CocoDetection",
    "DatFile",
    "EventSimulator",
    "Gen1Dataset",
    "ShapesDataset",
    "encode",
    "encode_gray",
    "encode_histogram",
    "encode_voxel_binary",
    "encoder_channels",
    "generate_gen1_synth",
    "generate_shapes",
    "load_bboxes",
    "load_coco",
    "load_events",
    "load_image",
    "load_shapes",
    "read_dat_header",
    "resize_nearest",
    "simulate_recording",
    "write_bboxes",
    "write_dat",
]
