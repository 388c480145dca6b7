"""`workbench bench appearance`: the light override is scoped, the gap is a real frame difference, and
the section renders from a stored result."""

from __future__ import annotations

import envs.pybullet.scene as sc
from workbench.bench import appearance


def test_light_override_reaches_the_frames_and_is_restored() -> None:
    saved = (sc.LIGHT_AMBIENT, sc.LIGHT_DIFFUSE)
    fitted = appearance.gap("Reach", range(1))
    dark = appearance.gap("Reach", range(1), light=(0.1, 0.0))
    assert saved == (sc.LIGHT_AMBIENT, sc.LIGHT_DIFFUSE)
    assert 0.0 < fitted < dark  # a dark PyBullet frame is further from MuJoCo's than the fitted one


def test_render_names_the_fit_and_every_task() -> None:
    result = {
        "fit": {"gap": 6.4, "ambient": 0.8, "diffuse": 0.4, "seeds": [2000, 2005]},
        "current": {"ambient": 0.8, "diffuse": 0.4}, "report_seeds": [3000, 3009],
        "tasks": {"Push": {"defaults": 31.0, "current": 6.4}}, "date": "d", "machine": "m", "command": "c",
    }  # fmt: skip
    text = appearance.render(result)
    assert "| Push | 31.0 | 6.4 |" in text and "ambient 0.8, diffuse 0.4" in text
