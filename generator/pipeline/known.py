"""Every spec of the repo as one run knows it: parsed (``clusters.load_cluster``), or, where gen's records hold the
cluster checked with exactly its current inputs, what the run needs of the spec taken from its record
(``records.SpecFacts``: its release, destination, Kubernetes version, notes and part of the fleet bootstrap). A run
over a large fleet so parses only the specs that changed. The check that spans specs (one destination per cluster)
runs over both, and a clash is reported from the parsed specs involved, exactly as ``clusters.load_fleet`` reports it.

A record stands in for a spec only when it is the record of the spec's current inputs (``Records.cluster_key``: the
spec's bytes, the user overlay's trees, gen itself and the programs), authenticated with this user's cache key: the
facts it holds are what parsing those same bytes gives, so a warm and an empty cache reach the same verdict."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from generator.cluster.model import Cluster
from generator.cluster.parse import SpecError, SpecErrors
from generator.pipeline.clusters import clash_error, destination_key, load_cluster
from generator.pipeline.records import ClusterRecord, Records
from generator.programs.git import uncommitted


@dataclass(frozen=True)
class Known:
    """The repo's specs: ``names`` (every spec, sorted), the ones parsed in this run, and the records standing in for
    the others; ``broken``: the specs (not selected) that do not load, which leave the fleet unknown."""

    names: list[str]
    parsed: dict[str, Cluster]
    recorded: dict[str, ClusterRecord]
    broken: list[SpecError]

    def release(self, name: str) -> str:
        return self.parsed[name].release.tag if name in self.parsed else self.recorded[name].release

    def gpu_release(self, name: str) -> str:
        """The cluster's GPU Operator release ("" without one)."""
        if name in self.recorded and name not in self.parsed:
            return self.recorded[name].spec.gpu_release
        gpu = self.parsed[name].gpu
        return gpu.operator.release.tag if gpu is not None and gpu.operator is not None else ""

    def notes(self, name: str) -> tuple[str, ...]:
        return tuple(self.parsed[name].notes) if name in self.parsed else self.recorded[name].notes

    def sources(self) -> Iterable[str]:
        """Every loaded spec's argocd.source."""
        yield from (c.argocd.source for c in self.parsed.values())
        yield from (r.source for n, r in self.recorded.items() if n not in self.parsed)

    @property
    def complete(self) -> bool:
        """Whether every spec of the repo loads (the fleet bootstrap is known)."""
        return not self.broken


def lookup(repo: Path, names: list[str], records: Records) -> tuple[dict[str, str | None], dict[str, ClusterRecord]]:
    """Each spec's inputs key (None: it cannot be keyed, see ``Records.cluster_key``), and the records of the specs
    recorded with those inputs."""
    keys = {name: records.cluster_key(repo, name) for name in names}
    found = {name: record for name, key in keys.items() if (record := records.cluster(key)) is not None}
    return keys, found


def load_known(repo: Path, selected: list[str], names: list[str], recorded: dict[str, ClusterRecord],
               kept: set[str]) -> Known:
    """Parse the selected specs not in ``kept`` (their errors raised together, as ``load_clusters``) and the other
    specs that have no record (their errors kept in ``broken``); the records of ``kept`` and of the other recorded
    specs stand in for theirs. Raises ``SpecErrors`` when two specs share an Argo CD destination, as
    ``load_fleet``."""
    parsed: dict[str, Cluster] = {}
    errors: list[SpecError] = []
    for name in selected:
        if name not in kept:
            try:
                parsed[name] = load_cluster(repo, name)
            except SpecError as exc:
                errors.append(exc)
    if errors:
        raise SpecErrors(errors)
    broken: list[SpecError] = []
    for name in names:
        if name not in parsed and name not in selected and name not in recorded:
            try:
                parsed[name] = load_cluster(repo, name)
            except SpecError as exc:
                broken.append(exc)
    standing = {name: record for name, record in recorded.items() if name not in parsed}
    _refuse_clashes(repo, parsed, standing)
    return Known(names, parsed, standing, broken)


def _refuse_clashes(repo: Path, parsed: dict[str, Cluster], recorded: dict[str, ClusterRecord]) -> None:
    """``load_fleet``'s clash check over the parsed specs and the recorded ones; the specs of a clash are parsed to
    say where each one's destination is."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for name in sorted([*parsed, *recorded]):
        if name in parsed:
            cluster = parsed[name]
            if cluster.gitops == "argocd":
                groups.setdefault(destination_key(cluster), []).append(name)
        elif recorded[name].spec.gitops == "argocd":
            groups.setdefault(recorded[name].spec.destination, []).append(name)
    clashes = [[parsed[n] if n in parsed else load_cluster(repo, n) for n in group]
               for group in groups.values() if len(group) > 1]
    if clashes:
        changed = uncommitted(repo, sorted({c.spec_file for group in clashes for c in group}))
        raise SpecErrors([clash_error(group, changed) for group in clashes])
