"""mp4 round trip at sim camera sizes, and the frame-composition helpers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workbench.video import concat_episodes, read_video, tile_frames, tile_videos, write_video


def _smooth_video(t: int, h: int, w: int) -> np.ndarray:
    # Smooth gradients survive H.264 nearly unchanged; random noise would not.
    yy, xx = np.mgrid[0:h, 0:w]
    frames = [np.stack([xx * 255 // w, yy * 255 // h, np.full_like(xx, 10 * i)], -1) for i in range(t)]
    return np.asarray(frames, dtype=np.uint8)  # (T, H, W, 3)


def test_write_read_84x84(tmp_path: Path) -> None:
    video = _smooth_video(12, 84, 84)
    path = write_video(tmp_path / "ep.mp4", video, fps=10)
    assert path == tmp_path / "ep.mp4" and path.stat().st_size > 0
    assert [p.name for p in tmp_path.iterdir()] == ["ep.mp4"]  # temp file renamed away
    back = read_video(path)
    assert back.shape == (12, 84, 84, 3) and back.dtype == np.uint8
    assert np.abs(back.astype(np.int16) - video).mean() < 8  # lossy, but close


def test_odd_size_is_padded_to_even(tmp_path: Path) -> None:
    back = read_video(write_video(tmp_path / "odd.mp4", list(_smooth_video(5, 83, 85)), fps=5))
    assert back.shape == (5, 84, 86, 3)


def test_bad_frames_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="uint8"):
        write_video(tmp_path / "f.mp4", np.zeros((2, 8, 8, 3), np.float32), fps=5)
    with pytest.raises(ValueError, match="zero frames"):
        write_video(tmp_path / "f.mp4", np.zeros((0, 8, 8, 3), np.uint8), fps=5)
    with pytest.raises(FileNotFoundError):
        read_video(tmp_path / "missing.mp4")


def test_tile_and_concat() -> None:
    frames = [np.full((4, 6, 3), i + 1, np.uint8) for i in range(3)]
    grid = tile_frames(frames, border=1)  # 2x2 grid, last cell black
    assert grid.shape == (2 * 4 + 1, 2 * 6 + 1, 3)
    assert grid[0, 0, 0] == 1 and grid[0, 7, 0] == 2 and grid[5, 0, 0] == 3 and grid[5, 7, 0] == 0
    assert grid[4, 0, 0] == 0  # border row
    videos = [np.ones((5, 4, 6, 3), np.uint8), np.ones((2, 4, 6, 3), np.uint8)]
    assert tile_videos(videos, ncols=2).shape == (5, 4, 12, 3)
    joined = concat_episodes(videos, separator_frames=3)
    assert joined.shape == (5 + 3 + 2, 4, 6, 3)
    assert joined[5:8].max() == 0 and joined[:5].min() == 1 and joined[8:].min() == 1
