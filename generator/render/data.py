"""The renderer's data templates (``render/templates/``): YAML fragments, Lua health checks, the verify script."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

from generator.yamlio import cached as cached_yaml

TEMPLATES = Path(__file__).resolve().parent / "templates"


@functools.cache
def _yaml(name: str) -> Any:
    return cached_yaml.load((TEMPLATES / name).read_text("utf-8"))


def template(name: str) -> Any:
    """A fresh copy of a YAML data template (callers may mutate it)."""
    return copy.deepcopy(_yaml(name))


@functools.cache
def text(name: str) -> str:
    """A text template (a script), as is."""
    return (TEMPLATES / name).read_text("utf-8")
