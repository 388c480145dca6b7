"""Self-supervised image encoders: SimCLR, DINO and MAE around the agents' own encoder architectures.

Each model holds ``encoder``, built by ``agents.image_encoders.make_image_encoder`` from the method's
``encoder`` block (the ``agent.encoder`` schema), at the view size the agents see (the frame side x
``crop_ratio``, their centre crop). Training (``compute_loss``) draws the views from the batch's seed,
so a resumed run sees the same views. ``export_encoder`` writes the encoder alone as a workbench
encoder file: ``agent.encoder.checkpoint=PATH`` (with the same ``agent.encoder.*``) starts a BC,
Diffusion Policy or SB3 agent from it. ``features`` is what the linear probe reads.

    SimCLR  z_i = g(f(v_i)); NT-Xent over the 2B views: each view's positive is its frame's other view
    DINO    student s = h(f(v)), teacher t = EMA(h, f)(v'); CE(softmax((t - c) / T_t), softmax(s / T_s))
            across the two views, c a running mean of the teacher's outputs (centring), T_t < T_s
    MAE     ViT over 25% of the patches; a small decoder fills in the rest; MSE on the masked patches'
            pixels, each normalised by its own mean and variance (``norm_pix_loss``)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from agents.image_encoders import make_image_encoder
from foundation.ema import EMA
from foundation.mlp import MLP
from perception.model_io import save_model
from perception.ssl.config import DINOConfig, MAEConfig, SimCLRConfig
from perception.ssl.views import centre_view, random_views


class SSLModel(nn.Module):
    """What the three methods share: the encoder at the agents' view size, features, saving."""

    task = "ssl"

    def __init__(self, config: Any, image_hw: tuple[int, int]) -> None:
        super().__init__()
        self.config, self.image_hw = config, (int(image_hw[0]), int(image_hw[1]))
        self.view = max(8, round(min(self.image_hw) * config.crop_ratio))  # square views, side S
        self.encoder = make_image_encoder(config.encoder, (self.view, self.view))

    def init_args(self) -> dict[str, Any]:
        return {"image_hw": list(self.image_hw)}

    def check_images(self, images: np.ndarray | torch.Tensor) -> None:
        if tuple(images.shape[1:3]) != self.image_hw:
            raise ValueError(f"the {self.config.name} model was trained on {self.image_hw} frames, "
                             f"got {tuple(images.shape[1:3])}")  # fmt: skip

    @torch.no_grad()
    def features(self, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """(N, H, W, 3) uint8 frames -> (N, feature_dim) float32 encoder features of the centre view."""
        self.check_images(images)
        was_training = self.training
        self.eval()
        out = []
        for start in range(0, len(images), batch_size):
            batch = torch.from_numpy(np.ascontiguousarray(images[start : start + batch_size]))
            out.append(self.encoder(centre_view(batch, self.view)).float().numpy())
        self.train(was_training)
        return np.concatenate(out)

    def views(self, batch: dict[str, Any], count: int) -> list[torch.Tensor]:
        """``count`` random views of the batch's images, each (B, S, S, 3) in [0, 1]."""
        generator = torch.Generator().manual_seed(int(batch["seeds"][0]))
        images = batch["images"]
        return [random_views(images, self.view, self.config.views, generator) for _ in range(count)]

    def after_optimizer_step(self) -> None:
        """Called by the trainer after each optimiser step (DINO moves its teacher)."""

    def save(self, path: str | Path) -> None:
        save_model(self, path)

    def export_encoder(self, path: str | Path) -> None:
        from agents.imitation.obs_encoder import save_encoder

        save_encoder(self.encoder, self.config.encoder, path)


class SimCLR(SSLModel):
    def __init__(self, config: SimCLRConfig, image_hw: tuple[int, int]) -> None:
        super().__init__(config, image_hw)
        *hidden, out = config.projector_dims
        self.projector = MLP(config.encoder.feature_dim, out, hidden, layer_norm=False)

    def compute_loss(self, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        first, second = self.views(batch, 2)
        z = F.normalize(self.projector(self.encoder(torch.cat([first, second]))), dim=-1)  # (2B, D)
        loss, accuracy = nt_xent(z, self.config.temperature)
        return loss, {"loss": float(loss.detach()), "positive_top1": accuracy}


def nt_xent(z: torch.Tensor, temperature: float) -> tuple[torch.Tensor, float]:
    """SimCLR's loss over unit vectors (2B, D), rows i and i + B the two views of one frame: the
    cross-entropy of picking the other view among the 2B - 1 others. Also the top-1 rate of that pick."""
    n = z.shape[0] // 2
    logits = z @ z.T / temperature  # (2B, 2B)
    logits.fill_diagonal_(float("-inf"))  # a view is not its own positive
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    loss = F.cross_entropy(logits, targets)
    accuracy = float((logits.argmax(-1) == targets).float().mean())
    return loss, accuracy


class DINOHead(nn.Module):
    """DINO's projection head: MLP to a bottleneck, L2-normalised, then weight-normalised prototypes."""

    def __init__(self, in_dim: int, hidden: int, bottleneck: int, out_dim: int) -> None:
        super().__init__()
        self.mlp = MLP(in_dim, bottleneck, [hidden, hidden], activation="gelu", layer_norm=False)
        self.prototypes = nn.utils.parametrizations.weight_norm(nn.Linear(bottleneck, out_dim, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.prototypes(F.normalize(self.mlp(x), dim=-1))
        return out


class DINO(SSLModel):
    center: torch.Tensor

    def __init__(self, config: DINOConfig, image_hw: tuple[int, int]) -> None:
        super().__init__(config, image_hw)
        self.head = DINOHead(
            config.encoder.feature_dim, config.head_hidden, config.bottleneck, config.out_dim
        )
        # The teacher: an EMA of encoder + head at a fixed momentum (a submodule: saved and resumed).
        student = nn.ModuleDict({"encoder": self.encoder, "head": self.head})
        m = config.teacher_momentum
        self.teacher = EMA(student, min_decay=m, max_decay=m)
        self.register_buffer("center", torch.zeros(config.out_dim))

    def compute_loss(self, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        cfg = self.config
        views = torch.cat(self.views(batch, 2))  # (2B, S, S, 3)
        student = self.head(self.encoder(views)) / cfg.student_temp  # (2B, K)
        with torch.no_grad():
            teacher_net: Any = self.teacher.averaged
            teacher_out = teacher_net["head"](teacher_net["encoder"](views))  # (2B, K)
            probs = F.softmax((teacher_out - self.center) / cfg.teacher_temp, dim=-1)
        n = views.shape[0] // 2
        # Each view's student output matches the teacher on the *other* view of its frame.
        swapped = torch.cat([probs[n:], probs[:n]])
        loss = -(swapped * F.log_softmax(student, dim=-1)).sum(-1).mean()
        self._last_teacher = teacher_out.detach()
        entropy = float(-(probs * probs.clamp_min(1e-12).log()).sum(-1).mean())
        # loss = H(teacher) + KL(teacher || student): the KL is what the student can still learn
        # (centring moves H, so the loss itself need not fall while the student learns).
        return loss, {"loss": float(loss.detach()), "teacher_entropy": entropy,
                      "distill_kl": float(loss.detach()) - entropy}  # fmt: skip

    @torch.no_grad()
    def after_optimizer_step(self) -> None:
        self.teacher.update(nn.ModuleDict({"encoder": self.encoder, "head": self.head}))
        last = getattr(self, "_last_teacher", None)
        if last is not None:
            m = self.config.center_momentum
            self.center.mul_(m).add_(last.mean(0), alpha=1 - m)


class MAE(SSLModel):
    def __init__(self, config: MAEConfig, image_hw: tuple[int, int]) -> None:
        super().__init__(config, image_hw)
        enc, p = config.encoder, config.encoder.patch_size
        grid = self.view // p
        self.num_patches = grid * grid
        self.decoder_embed = nn.Linear(enc.width, config.decoder_width)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, config.decoder_width))
        self.decoder_pos = nn.Parameter(torch.randn(1, 1 + self.num_patches, config.decoder_width) * 0.02)
        layer = nn.TransformerEncoderLayer(
            config.decoder_width, enc.heads, 4 * config.decoder_width, dropout=0.0, activation="gelu",
            batch_first=True, norm_first=True,
        )  # fmt: skip
        self.decoder = nn.TransformerEncoder(layer, config.decoder_depth, enable_nested_tensor=False)
        self.decoder_norm = nn.LayerNorm(config.decoder_width)
        self.decoder_pred = nn.Linear(config.decoder_width, p * p * 3)

    def patchify(self, x: torch.Tensor) -> torch.Tensor:
        """(B, S, S, 3) -> (B, N, p*p*3), patches in the ViT's row-major order."""
        b, s, _, c = x.shape
        p = self.config.encoder.patch_size
        g = s // p
        x = x[:, : g * p, : g * p].reshape(b, g, p, g, p, c).permute(0, 1, 3, 2, 4, 5)
        return x.reshape(b, g * g, p * p * c)

    def random_visible(self, b: int, generator: torch.Generator) -> torch.Tensor:
        """(B, keep) the patch indices the encoder sees: a random (1 - mask_ratio) of each image's."""
        keep = max(1, round(self.num_patches * (1 - self.config.mask_ratio)))
        order = torch.argsort(torch.rand(b, self.num_patches, generator=generator), dim=1)
        return order[:, :keep]

    def predict(self, view: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
        """(B, S, S, 3) views in [0, 1] and (B, keep) visible patch indices -> (B, N, p*p*3) every
        patch's predicted (normalised, with ``norm_pix_loss``) pixels."""
        b, n = view.shape[0], self.num_patches
        vit: Any = self.encoder  # a foundation.vit.ViTImageEncoder (MAEConfig requires vit)
        x = view.permute(0, 3, 1, 2) * 2.0 - 1.0  # (B, 3, S, S) in [-1, 1], as the ViT normalises
        tokens = vit.embed(x).flatten(2).transpose(1, 2) + vit.pos  # (B, N, W)
        tokens = torch.gather(tokens, 1, visible[..., None].expand(-1, -1, tokens.shape[-1]))
        encoded = vit.blocks(torch.cat([vit.cls.expand(b, -1, -1), tokens], dim=1))  # (B, 1+keep, W)
        # Decoder: the visible tokens back in place, mask tokens elsewhere.
        latent = self.decoder_embed(vit.norm(encoded))  # (B, 1+keep, Wd)
        full = self.mask_token.expand(b, n, -1).clone()  # (B, N, Wd)
        full.scatter_(1, visible[..., None].expand(-1, -1, full.shape[-1]), latent[:, 1:])
        seq = torch.cat([latent[:, :1], full], dim=1) + self.decoder_pos  # (B, 1+N, Wd)
        return self.decoder_pred(self.decoder_norm(self.decoder(seq)))[:, 1:]  # (B, N, p*p*3)

    def patch_stats(self, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, N, p*p*3) patches -> each patch's pixel mean and std, (B, N, 1) each."""
        return target.mean(-1, keepdim=True), (target.var(-1, keepdim=True) + 1e-6).sqrt()

    def compute_loss(self, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        (view,) = self.views(batch, 1)  # (B, S, S, 3) in [0, 1]
        generator = torch.Generator().manual_seed(int(batch["seeds"][-1]))
        b, n = view.shape[0], self.num_patches
        visible = self.random_visible(b, generator)
        pred = self.predict(view, visible)  # (B, N, p*p*3)
        target = self.patchify(view)  # (B, N, p*p*3)
        if self.config.norm_pix_loss:
            mean, std = self.patch_stats(target)
            target = (target - mean) / std
        masked = torch.ones(b, n)
        masked.scatter_(1, visible, 0.0)  # 1 where the patch was hidden
        per_patch = ((pred - target) ** 2).mean(-1)  # (B, N)
        loss = (per_patch * masked).sum() / masked.sum()
        return loss, {"loss": float(loss.detach())}

    def unpatchify(self, patches: torch.Tensor) -> torch.Tensor:
        """(B, N, p*p*3) -> (B, g*p, g*p, 3): ``patchify``'s inverse."""
        b, p = patches.shape[0], self.config.encoder.patch_size
        g = round(self.num_patches**0.5)
        x = patches.reshape(b, g, g, p, p, 3).permute(0, 1, 3, 2, 4, 5)
        return x.reshape(b, g * p, g * p, 3)

    @torch.no_grad()
    def reconstruct(self, images: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(N, H, W, 3) uint8 frames -> (the centre views, the views with the hidden patches greyed,
        the reconstructions), each (N, g*p, g*p, 3) uint8. With ``norm_pix_loss`` the model predicts
        each patch normalised; the picture puts back the true patch's mean and std (as MAE's own
        figures do), so it shows the structure the model filled in, not the patch brightness."""
        self.check_images(images)
        self.eval()
        view = centre_view(torch.from_numpy(np.ascontiguousarray(images)), self.view)  # (N, S, S, 3)
        visible = self.random_visible(view.shape[0], torch.Generator().manual_seed(seed))
        pred = self.predict(view, visible)
        target = self.patchify(view)
        if self.config.norm_pix_loss:
            mean, std = self.patch_stats(target)
            pred = pred * std + mean
        shown = torch.ones(target.shape[:2], dtype=torch.bool)
        shown.scatter_(1, visible, False)  # True where hidden
        masked = torch.where(shown[..., None], torch.full_like(target, 0.5), target)
        merged = torch.where(shown[..., None], pred, target)  # visible patches as they were

        def to_uint8(patches: torch.Tensor) -> np.ndarray:
            return (self.unpatchify(patches).clamp(0, 1) * 255).round().to(torch.uint8).numpy()

        return to_uint8(target), to_uint8(masked), to_uint8(merged)
