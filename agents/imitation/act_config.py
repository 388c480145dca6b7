"""ACT configuration (no torch import: the CLI reads it for --help and validation)."""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.imitation.bc_config import BCConfig, ConfigError

LATENT_CHOICES = ("zero", "prior")


@dataclass
class ACTConfig(BCConfig):
    """ACT (Zhao et al. 2023): a conditional VAE over action chunks with transformer encoder/decoder.

    Training: a transformer (the CVAE *encoder*) reads [CLS, observation tokens, the expert's chunk]
    and gives the posterior q(z | o, a); the decoder (self-attention over [z, observation tokens],
    then ``action_horizon`` learned queries cross-attending to them) reconstructs the chunk from o and
    a reparameterised z; loss = L1(chunk) + ``kl_weight`` * KL(q || N(0, I)). Acting: z = 0 (the
    prior's mean, ACT's choice: deterministic) or, with ``latent=prior``, z ~ N(0, I) per chunk from
    the episode's seeded generator (commits to one mode of multimodal demonstrations per chunk).
    Observation keys, encoders, history, chunk execution and temporal ensembling are BC's.
    """

    name: str = "act"
    # CPU-sized (the paper: d 512, 4 + 7 layers on a GPU); 128 wide with 2 + 2 layers costs ~20x more
    # per step here for the same batch.
    d_model: int = 64
    n_heads: int = 4
    encoder_layers: int = 1  # CVAE encoder (training only)
    decoder_layers: int = 2  # self-attention over the memory tokens, then as many cross-attending layers
    latent_dim: int = 32
    kl_weight: float = 10.0  # ACT's beta
    latent: str = "zero"  # zero | prior
    action_horizon: int = 16
    execute_horizon: int = 8
    dropout: float = 0.1
    hidden_dims: list[int] = field(default_factory=lambda: [256])  # unused by ACT; BC's MLP widths

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.backbone != "mlp":
            raise ConfigError(f"agent.backbone={self.backbone!r}: ACT has its own transformer; leave it mlp")
        for key in ("encoder_layers", "decoder_layers", "latent_dim"):
            if getattr(self, key) < 1:
                raise ConfigError(f"agent.{key}={getattr(self, key)} must be >= 1")
        if self.kl_weight < 0:
            raise ConfigError(f"agent.kl_weight={self.kl_weight} must be >= 0")
        if self.latent not in LATENT_CHOICES:
            raise ConfigError(f"agent.latent={self.latent!r} is not one of {list(LATENT_CHOICES)}")
