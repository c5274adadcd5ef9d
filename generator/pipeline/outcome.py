"""What ``gen bundle`` writes and ``gen check`` compares: the selected clusters' bundles, the fleet bootstrap and the
rdma-infiniband chart, checked. A cluster whose inputs are unchanged since a run recorded it (``records``) is read
back from output/; every other one is rendered, built and checked (``checking``), and recorded when it passes."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from generator.cluster.model import Cluster
from generator.cluster.overlay import has_user_overlay
from generator.cluster.repo import discover, leftover_note, leftover_temps
from generator.core import layout
from generator.core.errors import ChecksFailed
from generator.core.finding import Finding
from generator.core.kube import Obj
from generator.core.progress import QUIET, Progress
from generator.manifests.committed import CommittedOutput
from generator.pipeline import spec_facts
from generator.pipeline.chart_renders import chart_written, charts_at_hand, note_missing_charts
from generator.pipeline.clusters import destination_key, load_cluster
from generator.pipeline.known import Known, load_known, lookup
from generator.pipeline.messages import Messages
from generator.pipeline.records import BundleRecord, ClusterRecord, FleetRecord, Records, SpecFacts, environment
from generator.programs.helm import helm_command
from generator.programs.kustomize import kustomize_command
from generator.render import output_bundles
from generator.render.gpu import operator_of
from generator.render.output import Bundle
from generator.render.rendered_chart import release_dir

if TYPE_CHECKING:  # rendering and the checks are imported when a cluster is rendered: a no-op run starts faster
    from generator.pipeline.checking import Checked, FleetMembers
from generator.report.reporter import counts

Read = dict[str, tuple[BundleRecord, Bundle | None]]  # cluster -> its record's bundle, and the bundle read back


@dataclass(frozen=True)
class Outcome:
    """The selected clusters' bundles (rendered, or recorded and read back from output/), the fleet bootstrap and
    the rdma-infiniband chart when they are part of it, and what the output directory should hold."""

    bundles: list[Bundle]
    fleet: Bundle | None
    chart: Bundle | None
    everyone: list[str] | None  # every cluster of the repo; None when a spec does not load
    broken: list[str]  # the specs that do not load (others than the selected)
    release_dirs: set[str]  # output/ directories of releases' CRDs the fleet's rendered delivery needs
    asks_previous: bool = False  # an object of a selected cluster has an update rule (oldSelf): gen check's note

    def all_bundles(self, *, with_fleet: bool = False) -> list[Bundle]:
        """As ``Rendered.bundles``: the clusters', the shared ones they read, the chart, and the fleet when asked."""
        return output_bundles(self.bundles, self.chart, self.fleet if with_fleet else None)

    def expected_dirs(self) -> set[str] | None:
        """The output/ directories a full ``gen bundle --all`` writes; None when a spec does not load."""
        if self.everyone is None:
            return None
        releases = {read.cluster for bundle in self.bundles for read in bundle.reads} | self.release_dirs
        charts = {layout.CHARTS} if self.chart is not None else set()
        return set(self.everyone) | {layout.FLEET} | releases | charts


def _records(mirror: Path | None, with_chart: bool) -> Records:
    return Records(environment(kustomize_command(), helm_command(), charts_at_hand(mirror), with_chart))


@dataclass(frozen=True)
class Lookup:
    """The records of a run's environment, every spec of the repo with its inputs' key (None: cannot be keyed), and
    the records of the specs recorded with those inputs; ``with_chart``: whether the rdma-infiniband chart is part of
    the output (asked, written before, or applied by a recorded cluster), which is part of the environment."""

    records: Records
    names: list[str]
    keys: dict[str, str | None]
    recorded: dict[str, ClusterRecord]
    with_chart: bool


def look_up(repo: Path, mirror: Path | None, with_chart: bool) -> Lookup:
    """Every spec's key and record, in the environment of ``with_chart`` (or of a chart written before), or with the
    chart when a recorded cluster applies it."""
    names = discover(repo)
    wanted = with_chart or chart_written(repo)
    while True:
        records = _records(mirror, wanted)
        keys, recorded = lookup(repo, names, records)
        if wanted or not any(record.source == "chart" for record in recorded.values()):
            return Lookup(records, names, keys, recorded, wanted)
        wanted = True


def _sorted_findings(records: Sequence[ClusterRecord], extra: Sequence[Finding]) -> list[Finding]:
    """The findings the recorded clusters had when they were checked, and ``extra``; sorted."""
    return sorted({*(f for record in records for f in record.findings), *extra}, key=Finding.sort_key)


# -- the fast path: everything recorded, nothing rendered ----------------------------------------------------------


def _read_back(repo: Path, names: list[str], recorded: dict[str, ClusterRecord], read: Read) -> list[Bundle] | None:
    """The named clusters' bundles read back from output/ (each kept in ``read``); None when one is not as
    recorded."""
    bundles = []
    for name in names:
        record = recorded[name].bundle
        bundle = record.read_back(repo)
        read[name] = (record, bundle)
        if bundle is None:
            return None
        bundles.append(bundle)
    return bundles


def _optional(repo: Path, record: BundleRecord | None) -> tuple[bool, Bundle | None]:
    """(whether it is as recorded, the bundle read back) of the fleet's or the chart's record."""
    if record is None:
        return True, None
    bundle = record.read_back(repo)
    return bundle is not None, bundle


def from_records(repo: Path, names: list[str], mirror: Path | None, found: Lookup, read: Read,
                 messages: Messages) -> Outcome | None:
    """The outcome without rendering anything, when every spec of the repo and the fleet have a record of their
    current inputs and output/ holds exactly the recorded files; else None. ``read``: the clusters' records and
    their bundles read back from output/ (None: not as recorded), kept for the run that renders the others."""
    recorded = found.recorded
    if len(recorded) != len(found.names):
        return None
    keys = {name: key for name, key in found.keys.items() if key is not None}
    fleet_record = found.records.fleet(found.records.fleet_key(keys, names, found.with_chart))
    if fleet_record is None:
        return None
    bundles = _read_back(repo, names, recorded, read)
    fleet_ok, fleet = _optional(repo, fleet_record.fleet)
    chart_ok, chart = _optional(repo, fleet_record.chart)
    if bundles is None or not fleet_ok or not chart_ok:
        return None
    chosen = [recorded[name] for name in names]
    for name in names:
        if (repo / layout.user_overlay_dir(name)).exists():
            has_user_overlay(repo, name)  # refusals (a link out of the repo, a FIFO) are said as before
    for record in chosen:
        messages.warnings(record.notes)
    note_missing_charts({record.release for record in chosen}, mirror, messages,
                        {record.spec.gpu_release for record in chosen if record.spec.gpu_release})
    messages.findings(_sorted_findings(chosen, fleet_record.findings))
    return Outcome(bundles, fleet, chart, list(found.names), [],
                   {record.release_dir for record in recorded.values() if record.release_dir},
                   any(record.asks_previous for record in chosen))


# -- the full path: render, build and check what is not recorded ----------------------------------------------------


def _unchanged(repo: Path, names: list[str], found: Lookup, changed: set[str], read: Read,
               ) -> dict[str, tuple[ClusterRecord, Bundle]]:
    """The named clusters recorded with their current inputs (and not ``changed`` since the commit compared with),
    with their bundles: read back from output/ when it holds the recorded files, else the bytes the record keeps (a
    spec changed since gen bundle wrote its cluster: output/ is out of date, and says so)."""
    unchanged = {}
    for name in names:
        record = found.recorded.get(name)
        key = found.keys[name]
        if record is None or key is None or name in changed:
            continue
        kept, bundle = read.get(name, (None, None))
        if kept != record.bundle:  # not read yet (or another record)
            bundle = record.bundle.read_back(repo)
        if bundle is None:
            bundle = next(iter(found.records.rendered(key, record.bundle) or []), None)
        if bundle is not None:
            unchanged[name] = (record, bundle)
    return unchanged


def _recorded_fleet(repo: Path, names: list[str], found: Lookup,
                    ) -> tuple[FleetRecord, Bundle | None, Bundle | None] | None:
    """The fleet bootstrap and the chart as recorded for every spec's current inputs (read back from output/, else
    the recorded bytes), with what their checks found; None when not recorded."""
    if not all(found.keys.values()):
        return None
    key = found.records.fleet_key({n: k for n, k in found.keys.items() if k}, names, found.with_chart)
    record = found.records.fleet(key)
    if record is None:
        return None
    out: list[Bundle | None] = []
    for part in (record.fleet, record.chart):
        bundle = part.read_back(repo) if part is not None else None
        if part is not None and bundle is None:
            bundle = next(iter(found.records.rendered(key, part) or []), None)
            if bundle is None:
                return None
        out.append(bundle)
    return record, out[0], out[1]


def _spec_facts(cluster: Cluster) -> SpecFacts:
    return SpecFacts(cluster.release.tag, cluster.argocd.source,
                     release_dir(cluster.release.tag) if cluster.argocd.delivery == "rendered" else "",
                     cluster.gitops, destination_key(cluster), cluster.kubernetes.version, cluster.vm_size.nics,
                     tuple(cluster.notes), gpu.release.tag if (gpu := operator_of(cluster)) is not None else "")


RECORDERS = 4


def _record(found: Lookup, checked: Checked, complete: bool, names: list[str], asked: set[str]) -> None:
    """Record every cluster just checked (all passed), and the fleet when every spec of the repo has a key."""
    records, keys = found.records, found.keys

    def record(cluster: Cluster, bundle: Bundle) -> None:
        key = keys[cluster.name]
        if key is not None and cluster.name in checked.fleet_parts:
            objects = sum(len(docs) for docs in bundle.objects.values())
            records.record_fleet_part(key, checked.fleet_parts[cluster.name])
            records.record(key, ClusterRecord(BundleRecord.of(bundle), _spec_facts(cluster),
                                              tuple(checked.by_cluster[cluster.name]), cluster.name in asked, objects),
                           bundle)

    # three cache files a cluster, whose time goes to the file system: written by a few threads at once
    with ThreadPoolExecutor(max_workers=RECORDERS, thread_name_prefix="gen-record") as pool:
        list(pool.map(lambda pair: record(*pair), checked.rendered.clusters))
    rendered = checked.rendered
    if complete and all(keys.values()) and rendered.fleet is not None:
        records.record(records.fleet_key({n: k for n, k in keys.items() if k}, names, found.with_chart), FleetRecord(
            BundleRecord.of(rendered.fleet), BundleRecord.of(rendered.chart) if rendered.chart else None,
            tuple(checked.fleet_findings)), *[b for b in (rendered.fleet, rendered.chart) if b is not None])


def _assembled(known: Known, names: list[str], unchanged: dict[str, tuple[ClusterRecord, Bundle]],
               rendered: dict[str, Bundle], fleet: Bundle | None, chart: Bundle | None) -> Outcome:
    """The outcome of a run that rendered ``rendered`` and read ``unchanged`` back."""
    bundles = [unchanged[name][1] if name in unchanged else rendered[name] for name in names]
    dirs = {release_dir(c.release.tag) for c in known.parsed.values() if c.argocd.delivery == "rendered"}
    dirs |= {r.release_dir for r in known.recorded.values() if r.release_dir}
    return Outcome(bundles, fleet, chart, known.names if known.complete else None, [e.file for e in known.broken],
                   dirs if known.complete else set())


def _say_findings(messages: Messages, unchanged: dict[str, tuple[ClusterRecord, Bundle]],
                  found: Sequence[Finding]) -> None:
    """Every finding of the run (the recorded clusters' and ``found``); ChecksFailed on an error."""
    findings = _sorted_findings([record for record, _ in unchanged.values()], found)
    messages.findings(findings)
    errors = counts(findings)[0]
    if errors:
        raise ChecksFailed(f"validation failed: {errors} error(s); nothing written")


def _known(repo: Path, names: list[str], mirror: Path | None, found: Lookup, changed: set[str], read: Read,
           ) -> tuple[Lookup, Known, dict[str, tuple[ClusterRecord, Bundle]]]:
    """The repo's specs as known (parsed where no record of their current inputs stands in) and the named clusters
    unchanged since recorded; in the environment with the rdma-infiniband chart when a parsed cluster applies it."""
    while True:
        unchanged = _unchanged(repo, names, found, changed, read)
        known = load_known(repo, names, found.names, found.recorded,
                           set(found.recorded) - (set(names) - set(unchanged)))
        if found.with_chart or not any(source == "chart" for source in known.sources()):
            return found, known, unchanged
        found = look_up(repo, mirror, True)


def _members(repo: Path, found: Lookup, known: Known) -> FleetMembers:
    """Every cluster of the repo for its bootstrap: the parsed ones, and the recorded parts of the others (a cluster
    whose part is not kept is parsed after all)."""
    from generator.pipeline.checking import FleetMembers
    kept = {}
    for name in known.recorded:
        key = found.keys[name]
        part = found.records.fleet_part(key) if key is not None else None
        if part is not None:
            kept[name] = part
    parsed = [known.parsed[n] if n in known.parsed else load_cluster(repo, n)
              for n in known.names if n not in kept]
    return FleetMembers(parsed, kept)


def _full(repo: Path, names: list[str], mirror: Path | None, messages: Messages, found: Lookup,
          progress: Progress, comparison: CommittedOutput | None, changed: set[str], read: Read) -> Outcome:
    found, known, unchanged = _known(repo, names, mirror, found, changed, read)
    for name in names:
        messages.warnings(known.notes(name))
    note_missing_charts({known.release(name) for name in names}, mirror, messages,  # in one line, as a full run
                        {tag for name in names if (tag := known.gpu_release(name))})
    asked: set[str] = set()

    def previous(name: str) -> Sequence[Obj] | None:
        """What Argo CD applied before (when comparing), and which clusters have objects with update rules."""
        asked.add(name)
        return comparison(name) if comparison is not None else None

    todo = [known.parsed[name] for name in names if name not in unchanged]
    fleet = _recorded_fleet(repo, names, found) if known.complete and not todo else None
    if fleet is not None:  # nothing to render: every cluster, the fleet and the chart as recorded
        _say_notes(messages, comparison)
        _say_findings(messages, unchanged, fleet[0].findings)
        return _assembled(known, names, unchanged, {}, fleet[1], fleet[2])
    from generator.pipeline.checking import check_clusters

    members = _members(repo, found, known) if known.complete else None
    checked = check_clusters(repo, todo, members, mirror, messages, found.with_chart, progress, previous)
    _say_notes(messages, comparison)
    _say_findings(messages, unchanged, checked.findings)
    _record(found, checked, known.complete, names, asked)
    # what gen lint needs of each spec parsed here (the gen lint output/ after a cold bundle then parses none)
    spec_facts.keep(repo, [(name, spec_facts.LintSpec.of(cluster)) for name, cluster in known.parsed.items()])
    return _assembled(known, names, unchanged, {c.name: b for c, b in checked.rendered.clusters},
                      checked.rendered.fleet, checked.rendered.chart)


def _say_notes(messages: Messages, comparison: CommittedOutput | None) -> None:
    for note in comparison.notes if comparison is not None else []:
        messages.note("gen check", note)


def outcome(repo: Path, names: list[str], mirror: Path | None, messages: Messages, *, with_chart: bool = False,
            progress: Progress = QUIET, against: str | None = None, updates: bool = False) -> Outcome:
    """Render and build every named cluster (and the rdma-infiniband chart when asked, or when it is part of the
    output), check everything; ChecksFailed (after the findings are said) on any error. Clusters (and the fleet)
    whose inputs are unchanged since a run recorded them come from output/ (``records``). ``updates``: check them
    as updates of the output committed at ``against`` (None: the default revision, skipped with a note outside
    git); a cluster whose output differs from that commit is checked again, whatever the records say (they hold
    create checks)."""
    messages.warnings(leftover_note(path) for path in leftover_temps(repo))
    comparison = CommittedOutput(repo, against) if updates else None
    changed: set[str] = set()
    if comparison is not None:
        differ = comparison.changed_clusters()
        changed = set(names) | set(discover(repo)) if differ is None else differ
    read: Read = {}
    found = look_up(repo, mirror, with_chart)
    fast = None if changed & set(names) else from_records(repo, names, mirror, found, read, messages)
    if fast is None:
        return _full(repo, names, mirror, messages, found, progress, comparison, changed, read)
    if comparison is not None:
        skipped = comparison.revision is None and fast.asks_previous
        for note in [comparison.skipped] if skipped else comparison.unchanged_note():
            messages.note("gen check", note)
    return fast
