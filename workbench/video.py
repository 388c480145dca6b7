"""Writing and reading mp4 video, plus small helpers for composing frames.

Videos are H.264 in yuv420p because that is what browsers, TensorBoard and every desktop player
open. yuv420p subsamples chroma 2x2, so libx264 refuses odd widths/heights; we pad frames to even
sizes with black (bottom/right) instead of letting imageio resize to multiples of 16
(``macro_block_size=1`` turns that resize off), so an 84x84 camera stays 84x84 pixel for pixel.

imageio is imported inside the functions so ``workbench --help`` never pays for it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from workbench.io import atomic_path

__all__ = ["concat_episodes", "read_video", "tile_frames", "tile_videos", "write_video"]

Frames = Sequence[np.ndarray] | np.ndarray


def _as_video_array(frames: Frames) -> np.ndarray:
    """Stack frames into (T, H, W, 3) uint8, checking what callers most often get wrong."""
    video = np.asarray(frames) if isinstance(frames, np.ndarray) else np.stack(list(frames))
    if video.ndim != 4 or video.shape[-1] != 3:
        raise ValueError(f"expected frames of shape (T, H, W, 3), got {video.shape}")
    if video.shape[0] == 0:
        raise ValueError("cannot write a video with zero frames")
    if video.dtype != np.uint8:
        # Float frames in [0, 1] are the usual mistake; refuse rather than guess a scale.
        raise ValueError(
            f"expected uint8 frames, got dtype {video.dtype}; convert with (x * 255).astype(np.uint8)"
        )
    return video


def _pad_to_even(video: np.ndarray) -> np.ndarray:
    """Pad (T, H, W, 3) with black on the bottom/right so H and W are even (yuv420p needs it)."""
    _, h, w, _ = video.shape
    pad_h, pad_w = h % 2, w % 2
    if pad_h == 0 and pad_w == 0:
        return video
    return np.pad(video, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)))


def write_video(path: str | os.PathLike[str], frames: Frames, fps: int, quality: float = 8.0) -> Path:
    """Write frames (T, H, W, 3) uint8 to an H.264 mp4 at ``path`` atomically; returns the path.

    Odd sizes are padded to even with black. ``quality`` is imageio's 0-10 scale (10 = best); 8
    keeps small sim frames sharp while staying a few KB per second.
    """
    import imageio.v2 as imageio

    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    video = _pad_to_even(_as_video_array(frames))  # (T, H', W', 3)
    target = Path(path)
    # The temporary name keeps ".mp4" so imageio/ffmpeg picks the mp4 muxer.
    with atomic_path(target) as tmp:
        writer = imageio.get_writer(
            tmp,
            format="FFMPEG",
            mode="I",
            fps=fps,
            codec="libx264",
            pixelformat="yuv420p",
            quality=quality,
            macro_block_size=1,
            ffmpeg_log_level="error",
        )
        try:
            for frame in video:
                writer.append_data(frame)
        finally:
            writer.close()
    return target


def read_video(path: str | os.PathLike[str]) -> np.ndarray:
    """Read every frame of a video into (T, H, W, 3) uint8."""
    import imageio.v2 as imageio

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p} does not exist")
    reader = imageio.get_reader(p, format="FFMPEG")
    try:
        frames = [np.asarray(f)[..., :3] for f in reader.iter_data()]
    finally:
        reader.close()
    if not frames:
        raise ValueError(f"{p} contains no frames")
    return np.stack(frames)  # (T, H, W, 3)


def tile_frames(frames: Sequence[np.ndarray], ncols: int | None = None, border: int = 0) -> np.ndarray:
    """Arrange same-shaped (H, W, 3) frames in a grid, row-major; empty cells are black.

    ``ncols`` defaults to ceil(sqrt(N)), giving a near-square grid. ``border`` black pixels
    separate the cells so neighbouring episodes are easy to tell apart.
    """
    if len(frames) == 0:
        raise ValueError("tile_frames needs at least one frame")
    stack = np.stack([np.asarray(f) for f in frames])  # (N, H, W, C)
    if stack.ndim != 4:
        raise ValueError(f"expected frames of shape (H, W, C), got {stack.shape[1:]}")
    n, h, w, c = stack.shape
    ncols = ncols or math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncols)
    cell_h, cell_w = h + border, w + border
    grid = np.zeros((nrows * cell_h - border, ncols * cell_w - border, c), dtype=stack.dtype)
    for i in range(n):
        r, col = divmod(i, ncols)
        grid[r * cell_h : r * cell_h + h, col * cell_w : col * cell_w + w] = stack[i]
    return grid  # (nrows*H + (nrows-1)*border, ncols*W + (ncols-1)*border, C)


def tile_videos(videos: Sequence[np.ndarray], ncols: int | None = None, border: int = 0) -> np.ndarray:
    """Play several (T_i, H, W, 3) videos side by side in a grid; shorter ones hold their last frame."""
    if len(videos) == 0:
        raise ValueError("tile_videos needs at least one video")
    t_max = max(len(v) for v in videos)
    return np.stack(
        [
            tile_frames([v[min(t, len(v) - 1)] for v in videos], ncols=ncols, border=border)
            for t in range(t_max)
        ]
    )  # (T_max, H_grid, W_grid, 3)


def concat_episodes(episodes: Sequence[np.ndarray], separator_frames: int = 3) -> np.ndarray:
    """Join (T_i, H, W, 3) episode videos into one, with ``separator_frames`` black frames between.

    The black gap makes episode boundaries visible when scrubbing an eval video.
    """
    if len(episodes) == 0:
        raise ValueError("concat_episodes needs at least one episode")
    first = np.asarray(episodes[0])
    black = np.zeros((separator_frames, *first.shape[1:]), dtype=first.dtype)  # (S, H, W, 3)
    parts: list[np.ndarray] = []
    for i, ep in enumerate(episodes):
        ep = np.asarray(ep)
        if ep.shape[1:] != first.shape[1:]:
            raise ValueError(f"episode {i} has frame shape {ep.shape[1:]}, expected {first.shape[1:]}")
        if i > 0 and separator_frames > 0:
            parts.append(black)
        parts.append(ep)
    return np.concatenate(parts)  # (sum T_i + S * (N - 1), H, W, 3)
