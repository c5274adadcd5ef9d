"""The known name a misspelled one most likely meant: the same name in another case first (``vmsize`` ->
``vmSize``), else the closest by difflib's ratio. Used for spec fields and the network-operator chart's values."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def nearest(word: str, known: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The known name ``word`` most likely meant, or None when none is close."""
    names = sorted(set(known))
    same = [name for name in names if name.lower() == word.lower()]
    if same:
        return same[0]
    found = difflib.get_close_matches(word, names, n=1, cutoff=cutoff)
    return found[0] if found else None


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """``"; did you mean 'x'?"``, or "" when nothing known is close."""
    found = nearest(word, known)
    return f"; did you mean '{found}'?" if found else ""
