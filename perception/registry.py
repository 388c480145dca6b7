"""Perception models by (task, model name): their config dataclass and model class."""

from __future__ import annotations

from typing import Any

from perception.clip.config import ClipConfig
from perception.clip.model import ClipModel
from perception.detection.centernet import CenterNetConfig
from perception.detection.config import DETRConfig
from perception.detection.detector import Detector
from perception.detection.detr import DETRDetector
from perception.points.config import PointNetConfig
from perception.points.models import ObjectClassifier, ObjectLocator
from perception.promptable.config import PromptSegConfig
from perception.promptable.model import PromptableSegmenter
from perception.segmentation.segmenter import Segmenter
from perception.segmentation.unet import UNetConfig
from perception.ssl.config import DINOConfig, MAEConfig, SimCLRConfig
from perception.ssl.models import DINO, MAE, SimCLR

MODELS: dict[tuple[str, str], tuple[Any, Any]] = {
    ("detection", "centernet"): (CenterNetConfig, Detector),
    ("detection", "detr"): (DETRConfig, DETRDetector),
    ("segmentation", "unet"): (UNetConfig, Segmenter),
    ("promptable", "promptseg"): (PromptSegConfig, PromptableSegmenter),
    ("points", "pointnet"): (PointNetConfig, ObjectLocator),
    ("point_classification", "pointnet"): (PointNetConfig, ObjectClassifier),
    ("ssl", "simclr"): (SimCLRConfig, SimCLR),
    ("ssl", "dino"): (DINOConfig, DINO),
    ("ssl", "mae"): (MAEConfig, MAE),
    ("clip", "clip"): (ClipConfig, ClipModel),
}
