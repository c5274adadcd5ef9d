"""Trusted YAML (gen's own data files, digest-checked upstream CRDs) parsed once per machine, not once per run.

PyYAML's constructor is pure Python: parsing a release's CRDs takes about a second on every run. What it gives for a
text is kept in gen's cache as JSON, keyed by the sha256 of the text (and of the PyYAML version), and read back when
the same text is loaded again: the JSON entry is authenticated like every cache entry, and only documents that JSON
holds exactly (mappings with string keys, lists, strings, numbers, booleans, null) are kept, so a read gives the
same values a parse would. Never for user input: that is parsed by ``generator.yamlio.load``, with positions.
"""

from __future__ import annotations

from typing import Any

import yaml

from generator.core.cache import DiskCache, cache_root, digest

CACHE_VERSION = 1


def _plain(value: Any) -> bool:
    """Whether JSON holds ``value`` exactly (no dates, bytes, tuples, sets or non-string keys)."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return True
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def _cached(text: str, kind: str, parse: Any) -> Any:
    cache = DiskCache(cache_root(), "parsed-yaml", CACHE_VERSION)
    key = digest(kind, yaml.__version__, text)
    hit = cache.get_json(key)
    if isinstance(hit, dict) and set(hit) == {"value"}:
        return hit["value"]
    value = parse(text)
    if _plain(value):
        cache.put_json(key, {"value": value})
    return value


def load_all(text: str) -> list[Any]:
    """``list(yaml.load_all(text, CSafeLoader))``, from the cache when this text was parsed before."""
    result: list[Any] = _cached(text, "load_all", lambda t: list(yaml.load_all(t, Loader=yaml.CSafeLoader)))
    return result


def load(text: str) -> Any:
    """``yaml.load(text, CSafeLoader)`` (one document), from the cache when this text was parsed before."""
    return _cached(text, "load", lambda t: yaml.load(t, Loader=yaml.CSafeLoader))
