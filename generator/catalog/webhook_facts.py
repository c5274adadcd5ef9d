"""What each release's network-operator admission webhook refuses, and the container names of the operands it renders:
data in ``webhook.yaml`` (see its header for where the facts come from); this module only reads it."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.yamlio import cached as cached_yaml

DATA_FILE = Path(__file__).resolve().parent / "webhook.yaml"


@dataclass(frozen=True)
class Containers:
    """The container names of one component's workloads: what its containerResources[].name may be."""

    names: tuple[str, ...]
    unrendered_when: str = ""  # a component field that, when true, makes the webhook's render (and so every name) fail


@dataclass(frozen=True)
class DerivedName:
    """A value the operator derives from a NicNodePolicy's name: ``prefix + name``, at most ``limit`` characters."""

    what: str
    prefix: str
    limit: int
    section: str  # the NicNodePolicy section that makes the operator derive it

    @property
    def name_max(self) -> int:
        return self.limit - len(self.prefix)


@dataclass(frozen=True)
class NodePolicyFacts:
    name_max: int
    sections: tuple[str, ...]  # what a NicNodePolicy may set; each in the NicClusterPolicy or NicNodePolicies only
    derived_names: tuple[DerivedName, ...]


@dataclass(frozen=True)
class WebhookFacts:
    """The webhook of one release."""

    tag: str
    kinds: frozenset[str]
    driver_pattern: re.Pattern[str]
    driver_takes: str
    global_repository: bool
    ofed_repository_reported_as: str  # "" when the webhook reports it at spec.ofedDriver.repository
    repositories: tuple[str, ...]  # dotted component paths under spec
    containers: dict[str, Containers]  # dotted component path under spec -> its workloads' container names
    node_policy: NodePolicyFacts | None  # None: the release has no NicNodePolicy

    def takes_driver(self, version: str) -> bool:
        """Go's ``regexp.MatchString``: Python's ``$`` also matches before a final newline, Go's does not."""
        return "\n" not in version and self.driver_pattern.match(version) is not None


def _facts(tag: str, raw: dict[str, Any]) -> WebhookFacts:
    nnp = raw.get("nicNodePolicy")
    return WebhookFacts(
        tag=tag,
        kinds=frozenset(raw["kinds"]),
        driver_pattern=re.compile(raw["driverVersion"]["pattern"], re.ASCII),  # Go's \d and \w are ASCII-only
        driver_takes=" ".join(str(raw["driverVersion"]["takes"]).split()),
        global_repository=bool(raw["globalRepository"]),
        ofed_repository_reported_as=str(raw.get("ofedRepositoryReportedAs", "")),
        repositories=tuple(raw["repositories"]),
        containers={path: Containers(tuple(c["names"]), str(c.get("unrenderedWhen", "")))
                    for path, c in raw["containers"].items()},
        node_policy=None if nnp is None else NodePolicyFacts(
            name_max=int(nnp["nameMax"]),
            sections=tuple(nnp["sections"]),
            derived_names=tuple(DerivedName(" ".join(d["what"].split()), d["prefix"], int(d["limit"]), d["section"])
                                for d in nnp.get("derivedNames", ()))),
    )


@functools.cache
def _all() -> dict[str, WebhookFacts]:
    raw = cached_yaml.load(DATA_FILE.read_text("utf-8"))  # parsed once per machine, as the other catalog files
    return {tag: _facts(tag, entry) for tag, entry in raw["releases"].items()}


def webhook_facts(tag: str) -> WebhookFacts:
    """The webhook facts of a catalog release (KeyError for a release the catalog does not hold)."""
    return _all()[tag]


def all_webhook_facts() -> dict[str, WebhookFacts]:
    """Every release's, oldest first (the file's order)."""
    return dict(_all())
