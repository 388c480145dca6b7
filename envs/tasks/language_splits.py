"""Tabletop instruction splits with held-out compositions: what a language-conditioned policy is
trained on, and what it is tested on that it has never been told.

A composition is (verb, source object, destination, template). Training (``seen``) never names a
held-out object, never pairs a held-out (verb, shape), and only uses the task's own templates; each
``unseen_*`` split changes exactly one of those factors and keeps the rest seen, so a drop in success
is that factor's (as VIMA's combinatorial-generalisation levels do). Held-out objects still appear in
``seen`` scenes as distractors: the policy sees them, it is never asked to act on them.

| split | source object | (verb, source shape) | template |
|---|---|---|---|
| ``seen`` | not held out | not held out | the task's (``TEMPLATES``) |
| ``unseen_colour_shape`` | held out | not held out | the task's |
| ``unseen_verb_object`` | not held out | held out | the task's |
| ``unseen_paraphrase`` | not held out | not held out | held out (``PARAPHRASES``) |
| ``all`` | anything: the task as it was, draw for draw | | |

For ``put`` the destination object must not be held out either (in every split but ``all``): a held-out
colour x shape is never named in training, whatever its role. Every colour, shape and verb stays seen
on its own: the held-out objects form a Latin square over colours and shapes, and each verb keeps two of
the three shapes.
"""

from __future__ import annotations

from dataclasses import dataclass

SPLITS: tuple[str, ...] = ("all", "seen", "unseen_colour_shape", "unseen_verb_object", "unseen_paraphrase")

# Never named in training; one per colour at most, each shape at most twice.
HELD_OUT_OBJECTS: tuple[str, ...] = ("red_cylinder", "green_block", "blue_cube")
# (verb, source shape) never asked in training; each verb keeps two shapes, each shape two verbs.
HELD_OUT_VERB_SHAPES: tuple[tuple[str, str], ...] = (("push", "cylinder"), ("put", "block"), ("lift", "cube"))
# Sentence forms never seen in training, same slots as the task's templates.
PARAPHRASES: dict[str, tuple[str, ...]] = {
    "push": ("move the {src} into the {dst} zone", "get the {src} over to the {dst} zone"),
    "put": ("set the {src} down on the {dst}", "rest the {src} on the {dst}"),
    "lift": ("raise the {src}", "grab the {src} and hold it up"),
}


@dataclass(frozen=True)
class Composition:
    """What an instruction names: verb, source object, destination object (put) or None, and whether
    its sentence form is a held-out paraphrase."""

    verb: str
    src: str  # pool object name, "<colour>_<shape>"
    dst_object: str | None
    paraphrase: bool


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"instruction split {split!r} is not one of {list(SPLITS)}")
    return split


def split_of(c: Composition) -> str | None:
    """The one held-out split ``c`` belongs to, ``seen``, or None (it mixes held-out factors)."""
    shape = c.src.split("_", 1)[1]
    held = (
        c.src in HELD_OUT_OBJECTS,
        (c.verb, shape) in HELD_OUT_VERB_SHAPES,
        c.paraphrase,
    )
    if c.dst_object is not None and c.dst_object in HELD_OUT_OBJECTS:
        return None
    if sum(held) > 1:
        return None
    if held[0]:
        return "unseen_colour_shape"
    if held[1]:
        return "unseen_verb_object"
    if held[2]:
        return "unseen_paraphrase"
    return "seen"


def in_split(c: Composition, split: str) -> bool:
    return split == "all" or (split_of(c) == split)
