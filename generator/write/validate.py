"""Validate bundles before touching the filesystem."""

from __future__ import annotations

from collections.abc import Sequence

from generator.render.output import Bundle
from generator.write.paths import check_cluster_name, check_rel_path
from generator.write.refusals import InvalidBundle


def validate_bundles(bundles: Sequence[Bundle]) -> dict[str, dict[str, tuple[str, ...]]]:
    """Check names, paths and types; return cluster -> {path: segments}."""
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for b in bundles:
        check_cluster_name(b.cluster)
        if b.cluster in out:
            raise InvalidBundle(f"two bundles for cluster {b.cluster!r}; each cluster must be rendered once")
        where = f"bundle {b.cluster} ({b.spec_file})"
        parts = {p: check_rel_path(p, where) for p in b.files}
        for p, data in b.files.items():
            if not isinstance(data, bytes):
                raise InvalidBundle(f"{where}: content of {p!r} is {type(data).__name__}, not bytes")
            for i in range(1, len(parts[p])):
                prefix = "/".join(parts[p][:i])
                if prefix in b.files:
                    raise InvalidBundle(
                        f"{where}: {prefix!r} is both a file and the directory of {p!r}; rename one"
                    )
        out[b.cluster] = parts
    return out
