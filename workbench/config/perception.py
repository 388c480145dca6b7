"""Configs of ``workbench perception <action>``: one dataclass per action."""

from __future__ import annotations

from dataclasses import dataclass, field

from perception.clip.config import ClipConfig
from perception.detection.config import CenterNetConfig, DETRConfig
from perception.points.config import PointNetConfig
from perception.promptable.config import PromptSegConfig
from perception.segmentation.config import UNetConfig
from perception.ssl.config import DINOConfig, MAEConfig, SimCLRConfig
from workbench.config.env import EnvConfig, check_camera, check_size
from workbench.config.seeds import SeedPlan
from workbench.config.train import TrainerConfig, check_device
from workbench.errors import ConfigError

SPLITS = ("train", "validation", "test")


@dataclass
class PerceptionCollectConfig:
    """``workbench perception collect env=ID frames=N cameras=[...] split=train out=DIR``.

    ``env`` chooses the task and backend (its ``id``, ``controller`` and ``kwargs``); the cameras and
    image size are this command's own keys (the observation mode is rgb+depth+seg+state, set by the
    command). Frames come from ``frames / frames_per_episode`` expert episodes on the split's seeds.
    """

    env: EnvConfig = field(default_factory=EnvConfig)
    cameras: list[str] = field(default_factory=lambda: ["agentview"])
    width: int = 224
    height: int = 224
    frames: int = 1000
    frames_per_episode: int = 4
    split: str = "train"
    seed_offset: int = 0  # episode i uses seed (start of the split's range) + seed_offset + i
    num_points: int = 1024
    seeds: SeedPlan = field(default_factory=SeedPlan)
    out: str | None = None
    progress: bool = True
    debug: bool = False

    def __post_init__(self) -> None:
        import envs

        if self.out is None:
            raise ConfigError("perception collect needs out=DIR, the dataset directory to write")
        if self.env.id not in envs.TASK_ENV_IDS:
            raise ConfigError(
                f"env={self.env.id!r} renders no scene; choose a task env, e.g. wb/Tabletop-mujoco-v0"
            )
        if not self.cameras:
            raise ConfigError("cameras is empty; name at least one camera, e.g. cameras=[agentview]")
        for camera in self.cameras:
            check_camera(camera, "cameras")
        if len(set(self.cameras)) != len(self.cameras):
            raise ConfigError(f"cameras={self.cameras} names a camera twice")
        check_size(self.width, self.height, "width/height")
        if self.width < 8 or self.height < 8:
            raise ConfigError(f"width/height = {self.width}x{self.height}; use at least 8x8")
        for key in ("frames", "frames_per_episode", "num_points"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key}={getattr(self, key)} must be >= 1")
        if self.seed_offset < 0:
            raise ConfigError(f"seed_offset={self.seed_offset} must be >= 0")
        if self.split not in SPLITS:
            raise ConfigError(f"split={self.split!r} is not one of {list(SPLITS)}")


TASKS = ("detection", "segmentation", "promptable", "points", "point_classification", "ssl", "clip")
# Each task's models (the first is the default); ``model=`` chooses.
TASK_MODELS = {
    "detection": ("centernet", "detr"), "segmentation": ("unet",), "promptable": ("promptseg",),
    "points": ("pointnet",), "point_classification": ("pointnet",), "ssl": ("simclr", "dino", "mae"),
    "clip": ("clip",),
}  # fmt: skip


@dataclass
class PerceptionTrainConfig:
    """``workbench perception train data=DIR task=detection|segmentation|points|point_classification``.

    The task's model: ``detector`` (a CenterNet-style detector) for ``task=detection`` (``model=detr``:
    ``detr``, a DETR-style set-prediction detector), ``segmenter``
    (a U-Net) for ``task=segmentation``, ``promptseg`` (SAM-style: an object's mask from one click)
    for ``task=promptable``, ``pointnet`` for ``task=points`` (per-point classes and the
    movable objects' centres from the frames' point clouds), ``task=point_classification`` (an
    object's category from its points) and ``task=clip`` (``clip``: object crops and captions in one
    embedding space, scored zero-shot on held-out objects); e.g. ``detector.width=16``.

    Trains on the dataset's ``train`` split (``camera``: one of its cameras; null: the first),
    validates every ``trainer.eval_every`` steps on its ``validation`` split (keeping the best weights),
    and scores the final model once on its ``test`` split. ``resume=RUN_DIR`` continues a run from
    its last checkpoint (its recorded config; only ``steps`` may grow).
    """

    data: str | None = None
    task: str = "detection"
    model: str | None = None  # the task's model; null: its first (DETECTION_MODELS for detection)
    detector: CenterNetConfig = field(default_factory=CenterNetConfig)
    detr: DETRConfig = field(default_factory=DETRConfig)
    segmenter: UNetConfig = field(default_factory=UNetConfig)
    promptseg: PromptSegConfig = field(default_factory=PromptSegConfig)
    pointnet: PointNetConfig = field(default_factory=PointNetConfig)
    # Self-supervised pretraining (task=ssl, model=simclr|dino|mae; `workbench pretrain method=...`),
    # scored by a linear probe of ``probe_object``'s position (null: the first movable object).
    simclr: SimCLRConfig = field(default_factory=SimCLRConfig)
    dino: DINOConfig = field(default_factory=DINOConfig)
    mae: MAEConfig = field(default_factory=MAEConfig)
    probe_object: str | None = None
    # task=clip: a CLIP-style image-text model over the frames' object crops and their names
    clip: ClipConfig = field(default_factory=ClipConfig)
    camera: str | None = None
    steps: int = 3000
    batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 1e-4
    flip: bool = True  # random left-right flips of the training images (and their boxes)
    seed: int = 0
    trainer: TrainerConfig = field(
        default_factory=lambda: TrainerConfig(
            log_every=50, checkpoint_every=500, eval_every=500, keep_checkpoints=1, final_policy="best"
        )
    )
    run_dir: str | None = None
    runs_root: str = "runs"
    resume: str | None = None
    threads: str = "auto"
    device: str = "auto"
    debug: bool = False

    def __post_init__(self) -> None:
        if self.data is None and self.resume is None:
            raise ConfigError("perception train needs data=DIR (a `workbench perception collect` dataset)")
        if self.task not in TASKS:
            raise ConfigError(f"task={self.task!r} is not one of {list(TASKS)}")
        if self.model is not None and self.model not in TASK_MODELS[self.task]:
            raise ConfigError(
                f"model={self.model!r} (pretrain: method=): task={self.task} has models "
                f"{list(TASK_MODELS[self.task])}"
            )
        if (
            self.detector.name != "centernet"
            or self.segmenter.name != "unet"
            or self.pointnet.name != "pointnet"
        ):
            raise ConfigError("detector.name is centernet, segmenter.name unet and pointnet.name pointnet "
                              "(the models built so far)")  # fmt: skip
        for key in ("steps", "batch_size"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key}={getattr(self, key)} must be >= 1")
        if not self.lr > 0 or self.weight_decay < 0:
            raise ConfigError(f"lr={self.lr} must be > 0 and weight_decay={self.weight_decay} >= 0")
        if self.camera is not None:
            check_camera(self.camera, "camera")
        check_device(self.device)


@dataclass
class PerceptionExplainConfig:
    """``workbench perception explain run=RUN out=DIR`` and where the frames come from:

    - ``episodes=DIR episode=K``: the frames of an episode an evaluation recorded (a run's
      ``eval/<record>/episodes``), written as ``explain.mp4`` and a PNG per ``every`` steps; for an
      image policy (``run=`` a training run with rgb observations) this is the only source, since the
      policy reads the episode's other observations too;
    - ``data=DIR split=test frames=N``: N frames of a perception dataset's split (for a perception
      model: ``run=`` a ``workbench perception train`` run or its model.pt), one PNG each.

    Each picture shows the frame, its saliency and its Grad-CAM side by side.
    """

    run: str | None = None
    out: str | None = None
    episodes: str | None = None
    episode: int = 0
    camera: str | None = None  # the policy's camera to explain (null: its first)
    every: int = 10  # a PNG every this many steps of an episode (the mp4 has them all)
    fps: int = 10
    data: str | None = None
    split: str = "test"
    frames: int = 8
    debug: bool = False

    def __post_init__(self) -> None:
        if self.run is None:
            raise ConfigError(
                "perception explain needs run=RUN (a perception or image-policy run, or a model file)"
            )
        if self.out is None:
            raise ConfigError("perception explain needs out=DIR, a new directory for the pictures")
        if (self.episodes is None) == (self.data is None):
            raise ConfigError(
                "say where the frames come from: episodes=DIR (an evaluation's episodes) or data=DIR"
            )
        if self.split not in SPLITS:
            raise ConfigError(f"split={self.split!r} is not one of {list(SPLITS)}")
        for key in ("episode",):
            if getattr(self, key) < 0:
                raise ConfigError(f"{key}={getattr(self, key)} must be >= 0")
        for key in ("every", "fps", "frames"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key}={getattr(self, key)} must be >= 1")
        if self.camera is not None:
            check_camera(self.camera, "camera")


@dataclass
class PerceptionShowConfig:
    """``workbench perception show run=RUN data=DIR out=DIR [split=test frames=4]``: a perception
    model's predictions drawn on dataset frames (boxes and scores; segmentation beside the truth;
    one click per object and its mask), one PNG per frame."""

    run: str | None = None
    data: str | None = None
    out: str | None = None
    split: str = "test"
    frames: int = 4
    min_score: float = 0.3  # detection: boxes scoring at least this
    debug: bool = False

    def __post_init__(self) -> None:
        for key in ("run", "data", "out"):
            if getattr(self, key) is None:
                raise ConfigError(f"perception show needs {key}=..., e.g. run=RUN data=DIR out=DIR")
        if self.split not in SPLITS:
            raise ConfigError(f"split={self.split!r} is not one of {list(SPLITS)}")
        if self.frames < 1:
            raise ConfigError(f"frames={self.frames} must be >= 1")
