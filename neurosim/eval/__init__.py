"""Evaluation: box utilities and NMS, COCO mAP (pycocotools), the Prophesee Gen1 protocol."""
from neurosim.eval.boxes import (
    batched_nms,
    box_area,
    iou_matrix,
    multiclass_detections,
    nms,
    postprocess_detections,
    xywh_to_xyxy,
    xyxy_to_xywh,
)
from neurosim.eval.coco_map import (
    STAT_NAMES,
    coco_gt_from_boxes,
    evaluate_coco,
    make_coco_gt,
    predictions_from_boxes,
)
from neurosim.eval.prophesee import detections_to_boxes, evaluate_gen1, filter_boxes

__all__ = [
    "STAT_NAMES", "batched_nms", "box_area", "coco_gt_from_boxes", "detections_to_boxes",
    "evaluate_coco", "evaluate_gen1", "filter_boxes", "iou_matrix", "make_coco_gt",
    "multiclass_detections", "nms", "postprocess_detections", "predictions_from_boxes",
    "xywh_to_xyxy", "xyxy_to_xywh",
]
