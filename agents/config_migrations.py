"""Agent configs saved by earlier versions (a policy file's ``config``, a run's ``config.yaml``) read
back into today's config classes: one function both readers call, so an old run still evaluates,
replays and loads.

- first-wave image agents kept their encoder keys flat on the agent: moved under ``encoder``;
- retired keys that shaped training only, never acting, are dropped (:data:`RETIRED`).
"""

from __future__ import annotations

from agents.encoder_config import migrate_flat_encoder_keys

# Keys no config declares any more, and why dropping them cannot change what a saved policy does.
RETIRED = {
    # VLA grounding-loss weighting by the hand's distance to the named object (measured not to help,
    # docs/vla.md): a training loss weight only.
    "aux_near_indices": "a VLA grounding-loss weight",
    "aux_near_radius": "a VLA grounding-loss weight",
    "aux_near_weight": "a VLA grounding-loss weight",
}


def migrate_agent_config(config: dict[str, object]) -> dict[str, object]:
    """A saved agent config dict in today's keys (see the module docstring)."""
    return {k: v for k, v in migrate_flat_encoder_keys(config).items() if k not in RETIRED}
