"""The on-disk episode dataset (``workbench.data``): one directory, written incrementally and atomically.

Layout (DESIGN.md, "Episodes and datasets")::

    DIR/meta.json                              format, version, env, specs, fps, cameras, index, stats
    DIR/episodes/episode_000000.npz            per-episode arrays, compressed
    DIR/videos/episode_000000/<camera>.mp4     per-camera video of the ``rgb/<camera>`` observations

``meta.json`` is the commit point: an episode exists once meta lists it, and ``complete`` turns true
when the writer is closed. The writer writes the
episode's video and arrays first and rewrites meta last, each atomically, so a collection killed at
any moment leaves a valid dataset of the episodes it completed (at worst plus an orphan file that
the next ``append`` overwrites).

Arrays in an episode file, with T the number of actions::

    obs/<key>        (T+1, ...)   every observation including the final one; '/' kept in the name
    actions          (T, A)       float32, what the policy commanded (executed unless applied_actions)
    expert_actions   (T, A)       float32, optional clean labels (DART noise, DAgger)
    applied_actions  (T, A)       float32, optional: what the env executed where a wrapper changed
                                  the commands (ActionDelay); replay re-runs these
    rewards          (T,)         float32
    successes        (T,)         bool, info["is_success"] after each step
    sim_states       (T+1, S)     float64, optional; get_state() before the first action, after each step
    terminated, truncated         () bool
    seed             () int64, -1 when None
    info_json        () str, JSON of small extras

torch is never imported here, so the CLI can list and inspect datasets instantly.
"""

from workbench.data.episode import (
    FORMAT,
    VERSION,
    Episode,
    is_image_key,
    is_low_dim,
    low_dim_keys,
    observation_spec,
    spec_from_space,
)
from workbench.data.reader import dataset_stats, episode_seeds, iter_episodes, load_episode, load_meta
from workbench.data.stats import compute_stats
from workbench.data.writer import DatasetWriter, episode_path, video_path

__all__ = [
    "FORMAT",
    "VERSION",
    "DatasetWriter",
    "Episode",
    "compute_stats",
    "dataset_stats",
    "episode_path",
    "episode_seeds",
    "is_image_key",
    "is_low_dim",
    "iter_episodes",
    "load_episode",
    "load_meta",
    "low_dim_keys",
    "observation_spec",
    "spec_from_space",
    "video_path",
]
