"""Tabletop: 3-5 coloured objects and two coloured zones; follow a templated language instruction.

Instructions (``instruction(goal)``) come from templates over 5 colours, 3 shapes and 3 verbs:
push (slide an object into a zone), put (stack an object on another) and lift (pick an object up).
The pool holds every colour x shape (15 objects) and every colour of zone (5 markers); an episode
places 3-5 distinct objects and 2 zones, the rest are absent (parked, see ``base.PARK_Z``).

Goal vector (``Layout.goal``, 4 floats): verb index, template index, source object (pool index),
destination (zone colour index for push, pool index of the object for put, -1 for lift). Template
indices past the verb's ``TEMPLATES`` name its held-out ``PARAPHRASES``.

``split`` (``with_instruction_split``, the env's ``instruction_split``) restricts the instructions an
episode draws to one of ``language_splits.SPLITS``: seen compositions for training, held-out colour x
shape, verb x object or paraphrases for testing. ``all`` (the default) is the task as it always was.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from envs.tasks import skills
from envs.tasks.base import PARK_Z, Layout, MarkerSpec, ObjectSpec, Pose, Scene, Task, norm
from envs.tasks.language_splits import PARAPHRASES, Composition, check_split, in_split

COLOURS: dict[str, tuple[float, float, float, float]] = {
    "red": (0.85, 0.15, 0.12, 1.0),
    "green": (0.15, 0.7, 0.2, 1.0),
    "blue": (0.15, 0.3, 0.9, 1.0),
    "yellow": (0.95, 0.85, 0.1, 1.0),
    "purple": (0.55, 0.2, 0.75, 1.0),
}
# shape -> (backend shape, size, half height, half width seen by a pusher); all fit the 8 cm gripper
SHAPES: dict[str, tuple[str, tuple[float, ...], float, float]] = {
    "cube": ("box", (0.02, 0.02, 0.02), 0.02, 0.02),
    "cylinder": ("cylinder", (0.02, 0.02), 0.02, 0.02),
    "block": ("box", (0.03, 0.02, 0.015), 0.015, 0.025),
}
VERBS: tuple[str, ...] = ("push", "put", "lift")
TEMPLATES: dict[str, tuple[str, ...]] = {
    "push": ("push the {src} to the {dst} zone", "slide the {src} into the {dst} zone"),
    "put": (
        "put the {src} on the {dst}", "place the {src} on top of the {dst}", "stack the {src} on the {dst}"
    ),
    "lift": ("pick up the {src}", "lift the {src}"),
}
OBJECT_NAMES: tuple[str, ...] = tuple(f"{c}_{s}" for c in COLOURS for s in SHAPES)  # pool order
ZONE_NAMES: tuple[str, ...] = tuple(f"{c}_zone" for c in COLOURS)
ZONE_RADIUS = 0.05  # m; pushed object centre within this (xy) of the zone centre
LIFT_HEIGHT = 0.10  # m, object centre above this counts as lifted
LOW, HIGH = np.array([0.36, -0.22]), np.array([0.64, 0.22])  # m, object and zone centre xy box
SPACING = 0.08  # m, min xy distance between object centres (and zone centres to other objects)
_HALF_H = np.array([SHAPES[n.split("_")[1]][2] for n in OBJECT_NAMES])  # (15,)
_CONTACT = np.array([SHAPES[n.split("_")[1]][3] + 0.012 for n in OBJECT_NAMES])  # (15,)


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    t = np.clip((p - a) @ (b - a) / max((b - a) @ (b - a), 1e-12), 0.0, 1.0)
    return float(np.linalg.norm(p - (a + t * (b - a))))


@dataclass(frozen=True)
class TabletopTask(Task):
    name: str = "tabletop"
    objects: tuple[ObjectSpec, ...] = tuple(
        ObjectSpec(f"{c}_{s}", SHAPES[s][0], SHAPES[s][1], rgba, mass=0.08)
        for c, rgba in COLOURS.items() for s in SHAPES
    )
    markers: tuple[MarkerSpec, ...] = tuple(
        MarkerSpec(f"{c}_zone", "disc", (ZONE_RADIUS, 0.001), (*rgba[:3], 0.45))
        for c, rgba in COLOURS.items()
    )
    goal_dim: int = 4
    has_instruction: bool = True
    max_instruction_length: int = 64
    max_episode_steps: int = 150
    split: str = "all"  # language_splits.SPLITS: which instructions episodes draw
    state_names: tuple[str, ...] = (
        "ee_x", "ee_y", "ee_z", "gripper",
        "verb_push", "verb_put", "verb_lift",
        "src_x", "src_y", "src_z", "src_half_height", "src_contact",
        "goal_x", "goal_y", "goal_z",
        "goal_minus_src_x", "goal_minus_src_y", "goal_minus_src_z",
        "src_minus_ee_x", "src_minus_ee_y", "src_minus_ee_z",
        *(f"{n}_{k}" for n in OBJECT_NAMES for k in ("x", "y", "z", "present")),
        *(f"{n}_{k}" for n in ZONE_NAMES for k in ("x", "y", "present")),
    )

    def with_instruction_split(self, split: str) -> TabletopTask:
        return replace(self, split=check_split(split))

    def sample_layout(self, np_random: np.random.Generator) -> Layout:
        while True:  # rejection sampling over whole layouts; accepts most draws
            layout = self._try_layout(np_random)
            if layout is not None:
                return layout

    def _try_layout(self, rng: np.random.Generator) -> Layout | None:
        n = int(rng.integers(3, 6))
        chosen = rng.choice(len(OBJECT_NAMES), size=n, replace=False)
        xy = np.zeros((n, 2))
        for i in range(n):
            for _ in range(100):
                xy[i] = rng.uniform(LOW, HIGH)
                if i == 0 or np.min(np.linalg.norm(xy[:i] - xy[i], axis=1)) >= SPACING:
                    break
            else:
                return None
        yaws = rng.uniform(-0.3, 0.3, n)
        zone_colours = rng.choice(len(ZONE_NAMES), size=2, replace=False)
        zones = np.zeros((2, 2))
        for j in range(2):
            for _ in range(100):
                zones[j] = rng.uniform(LOW, HIGH)
                far_objs = np.min(np.linalg.norm(xy[1:] - zones[j], axis=1)) >= SPACING if n > 1 else True
                if far_objs and np.linalg.norm(xy[0] - zones[j]) >= 0.12 and (
                    j == 0 or np.linalg.norm(zones[0] - zones[1]) >= 2 * ZONE_RADIUS + 0.02
                ):
                    break
            else:
                return None
        verb = int(rng.integers(len(VERBS)))
        if self.split == "unseen_paraphrase":  # index past the task's templates: a held-out paraphrase
            template = len(TEMPLATES[VERBS[verb]]) + int(rng.integers(len(PARAPHRASES[VERBS[verb]])))
        else:
            template = int(rng.integers(len(TEMPLATES[VERBS[verb]])))
        src = int(chosen[0])  # the positions were drawn in random order, so object 0 is as good as any
        if verb == 0:  # push into zone 0: keep the straight path clear of the other objects
            dst = int(zone_colours[0])
            if any(_segment_distance(p, xy[0], zones[0]) < SPACING for p in xy[1:]):
                return None
        elif verb == 1:
            dst = int(chosen[1])
        else:
            dst = -1
        if self.split != "all":
            said = Composition(VERBS[verb], OBJECT_NAMES[src], OBJECT_NAMES[dst] if verb == 1 else None,
                               paraphrase=template >= len(TEMPLATES[VERBS[verb]]))
            if not in_split(said, self.split):
                return None
        objects = {
            OBJECT_NAMES[k]: Pose(np.array([xy[i, 0], xy[i, 1], _HALF_H[k]]), float(yaws[i]))
            for i, k in enumerate(chosen)
        }
        markers = {
            ZONE_NAMES[c]: Pose(np.array([zones[j, 0], zones[j, 1], 0.0])) for j, c in enumerate(zone_colours)
        }
        goal = np.array([verb, template, src, dst], dtype=float)
        return Layout(objects=objects, markers=markers, goal=goal)

    def instruction(self, goal: np.ndarray) -> str:
        verb, template, src, dst = (int(np.rint(g)) for g in goal)
        text = (*TEMPLATES[VERBS[verb]], *PARAPHRASES[VERBS[verb]])[template]
        names = (*OBJECT_NAMES, *ZONE_NAMES)
        dst_name = "" if dst < 0 else (ZONE_NAMES[dst].split("_")[0] if verb == 0 else names[dst])
        return text.format(src=OBJECT_NAMES[src].replace("_", " "), dst=dst_name.replace("_", " "))

    def _goal(self, scene: Scene) -> tuple[int, np.ndarray, np.ndarray]:
        """(verb, source position, desired source centre)."""
        verb, _, src, dst = (int(np.rint(g)) for g in scene.goal)
        p = scene.objects[OBJECT_NAMES[src]][:3]
        if verb == 0:
            zone = scene.markers[ZONE_NAMES[dst]]
            goal = np.array([zone[0], zone[1], _HALF_H[src]])
        elif verb == 1:
            below = scene.objects[OBJECT_NAMES[dst]]
            goal = below[:3] + np.array([0.0, 0.0, _HALF_H[dst] + _HALF_H[src]])
        else:
            goal = np.array([p[0], p[1], LIFT_HEIGHT + 0.03])
        return verb, p, goal

    def state(self, scene: Scene) -> np.ndarray:
        verb, p, goal = self._goal(scene)
        src = int(np.rint(scene.goal[2]))
        out = np.zeros(self.state_dim, dtype=np.float32)
        out[0:3] = scene.ee
        out[3] = scene.gripper
        out[4 + verb] = 1.0
        out[7:10] = p
        out[10] = _HALF_H[src]
        out[11] = _CONTACT[src]
        out[12:15] = goal
        out[15:18] = goal - p
        out[18:21] = p - scene.ee
        i = 21
        for name in OBJECT_NAMES:
            pose = scene.objects[name]
            if pose[2] > PARK_Z / 2:
                out[i : i + 4] = pose[0], pose[1], pose[2], 1.0
            i += 4
        for name in ZONE_NAMES:
            pose = scene.markers[name]
            if pose[2] > PARK_Z / 2:
                out[i : i + 3] = pose[0], pose[1], 1.0
            i += 3
        return out

    def reward_terms(self, scene: Scene) -> dict[str, float]:
        _, p, goal = self._goal(scene)
        return {"reward_dist": -(norm(goal - p)), "reward_near": -0.5 * (norm(p - scene.ee))}

    def is_success(self, scene: Scene) -> bool:
        verb, p, goal = self._goal(scene)
        src = int(np.rint(scene.goal[2]))
        if verb == 0:
            return bool(norm(goal[:2] - p[:2]) < ZONE_RADIUS and p[2] < _HALF_H[src] + 0.01)
        if verb == 1:
            on_top = norm(goal[:2] - p[:2]) < 0.02 and abs(goal[2] - p[2]) < 0.008
            return bool(on_top and scene.gripper > 0.055)
        return bool(p[2] > LIFT_HEIGHT)

    def expert_action(self, state: np.ndarray) -> np.ndarray:
        ee, grip, verb = state[:, 0:3], state[:, 3], np.argmax(state[:, 4:7], axis=1)
        src, half_h, contact, goal = state[:, 7:10], state[:, 10], state[:, 11], state[:, 12:15]
        pushed = skills.push(ee, src, goal, contact, push_z=np.maximum(half_h, 0.015))
        put_goal = goal + np.array([0.0, 0.0, 0.003])  # drop from 3 mm
        placed = skills.pick_and_place(ee, grip, src, np.where((verb == 1)[:, None], put_goal, goal),
                                       width=0.04, release=verb == 1)
        return np.where((verb == 0)[:, None], pushed, placed)
