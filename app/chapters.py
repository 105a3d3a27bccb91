"""The one registry of chapters: it drives the navigation, the URLs and the page order.

Adding a chapter is one line in ``CHAPTERS``, e.g.
``Chapter("hero", "Two ways to look inside", ANATOMY, hero.build)``, where ``build()``
returns a Panel viewable. Only chapters listed here appear in the menu.
"""

from dataclasses import dataclass
from typing import Any, Callable

from . import hero
from . import grid_extension
from . import spline_edge
from . import layer
from . import mlp_neuron
from . import flip
from . import snap
from . import budget
from . import training_lab
from . import pipeline
from . import continual
from . import costs
from . import sandbox

ANATOMY = "Part I · Anatomy"
LEARNING = "Part II · Learning"
READING = "Part III · Reading and trusting"
SANDBOX = "Sandbox"
PARTS = (ANATOMY, LEARNING, READING, SANDBOX)

# Every chapter the lesson will have, in reading order; each opens at /app?chapter=<slug>.
SLUGS = (
    "hero", "mlp-neuron", "flip", "spline-edge", "layer",
    "grid-extension", "snap", "training-lab", "budget",
    "pipeline", "continual", "costs",
    "sandbox",
)

# Echoed unknown slugs are cut to this many characters before they are shown.
MAX_ECHO = 40


@dataclass(frozen=True)
class Chapter:
    slug: str
    title: str
    part: str
    build: Callable[[], Any]


def check_registry(chapters):
    """Return ``chapters`` as a tuple after checking slugs, order and parts; raise ValueError if wrong."""
    chapters = tuple(chapters)
    slugs = [c.slug for c in chapters]
    for chapter in chapters:
        if chapter.slug not in SLUGS:
            raise ValueError(f"Chapter slug {chapter.slug!r} is not one of {', '.join(SLUGS)}.")
        if chapter.part not in PARTS:
            raise ValueError(f"Chapter {chapter.slug!r} has part {chapter.part!r}; use one of {PARTS}.")
        if not chapter.title.strip():
            raise ValueError(f"Chapter {chapter.slug!r} needs a title.")
    if len(set(slugs)) != len(slugs):
        raise ValueError(f"Chapter slugs must be unique, got {slugs}.")
    if slugs != sorted(slugs, key=SLUGS.index):
        raise ValueError(f"Chapters must be listed in reading order {SLUGS}, got {slugs}.")
    return chapters


CHAPTERS = check_registry([
    Chapter("hero", "Two ways to look inside", ANATOMY, hero.build),
    Chapter("mlp-neuron", "What an MLP neuron does", ANATOMY, mlp_neuron.build),
    Chapter("flip", "Flip it: the same unit drawn both ways", ANATOMY, flip.build),
    Chapter("spline-edge", "A learnable curve", ANATOMY, spline_edge.build),
    Chapter("layer", "A layer: 3 inputs, 2 outputs", ANATOMY, layer.build),
    Chapter("grid-extension", "Grid extension: more knots, finer curve", LEARNING, grid_extension.build),
    Chapter("snap", "Snap to a formula", LEARNING, snap.build),
    Chapter("training-lab", "Train a tiny KAN", LEARNING, training_lab.build),
    Chapter("budget", "Parameter budget: KAN vs MLP", LEARNING, budget.build),
    Chapter("pipeline", "From network to formula", READING, pipeline.build),
    Chapter("continual", "Learning without forgetting", READING, continual.build),
    Chapter("costs", "Costs and choices", READING, costs.build),
    Chapter("sandbox", "Sandbox", SANDBOX, sandbox.build),
])


def resolve(requested, chapters=CHAPTERS):
    """Map a raw ``?chapter=`` value to ``(chapter or None, notice or None)``.

    An empty value means the introduction, without a notice. An unknown value also means the
    introduction, with a plain-text notice that echoes at most MAX_ECHO printable characters
    (the caller escapes it before putting it into HTML).
    """
    requested = (requested or "").strip()
    if not requested:
        return None, None
    for chapter in chapters:
        if chapter.slug == requested:
            return chapter, None
    shown = "".join(ch for ch in requested if ch.isprintable())
    if len(shown) > MAX_ECHO:
        shown = shown[:MAX_ECHO] + "…"
    return None, f"There is no chapter called '{shown}'; showing the introduction."


def grouped(chapters=CHAPTERS):
    """List ``(part, [chapters])`` in part order, leaving out parts that have no chapter yet."""
    return [(part, [c for c in chapters if c.part == part])
            for part in PARTS if any(c.part == part for c in chapters)]
