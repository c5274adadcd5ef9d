"""The renderer's data templates (``render/templates/``): YAML fragments, Lua health checks, the verify script."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml

TEMPLATES = Path(__file__).resolve().parent / "templates"


@functools.cache
def _yaml(name: str) -> Any:
    return yaml.load((TEMPLATES / name).read_text("utf-8"), Loader=yaml.SafeLoader)


def template(name: str) -> Any:
    """A fresh copy of a YAML data template (callers may mutate it)."""
    return copy.deepcopy(_yaml(name))


@functools.cache
def text(name: str) -> str:
    """A text template (a script), as is."""
    return (TEMPLATES / name).read_text("utf-8")
