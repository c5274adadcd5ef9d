"""What ``gen bundle`` writes and ``gen check`` compares: the selected clusters' bundles, the fleet bootstrap and the
rdma-infiniband chart, checked. A cluster whose inputs are unchanged since a run recorded it (``records``) is read
back from output/; every other one is rendered, built and checked (``checking``), and recorded when it passes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from generator.cluster.model import Cluster
from generator.cluster.overlay import has_user_overlay
from generator.cluster.repo import discover, leftover_note, leftover_temps
from generator.core import layout
from generator.core.errors import ChecksFailed
from generator.core.finding import Finding
from generator.core.kube import Obj
from generator.core.progress import QUIET, Progress
from generator.manifests.committed import CommittedOutput
from generator.pipeline.chart_renders import chart_written, charts_at_hand, note_missing_charts, wants_chart
from generator.pipeline.checking import Checked, check_clusters
from generator.pipeline.clusters import Fleet, load_fleet
from generator.pipeline.messages import Messages
from generator.pipeline.records import BundleRecord, ClusterRecord, FleetRecord, Records, environment
from generator.programs.helm import helm_command
from generator.programs.kustomize import kustomize_command
from generator.render import output_bundles
from generator.render.output import Bundle
from generator.render.rendered_chart import release_dir
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


def _sorted_findings(records: Sequence[ClusterRecord], extra: Sequence[Finding]) -> list[Finding]:
    """The findings the recorded clusters had when they were checked, and ``extra``; sorted."""
    return sorted({*(f for record in records for f in record.findings), *extra}, key=Finding.sort_key)


# -- the fast path: everything recorded, nothing rendered ----------------------------------------------------------


def _everyone_recorded(repo: Path, records: Records) -> dict[str, tuple[str, ClusterRecord]] | None:
    """Every spec of the repo with its inputs' key and its record; None when one has none."""
    found = {}
    for name in discover(repo):
        key = records.cluster_key(repo, name)
        record = records.cluster(key)
        if key is None or record is None:
            return None
        found[name] = (key, record)
    return found


def _read_back(repo: Path, names: list[str], recorded: dict[str, tuple[str, ClusterRecord]], read: Read,
               ) -> list[Bundle] | None:
    """The named clusters' bundles read back from output/ (each kept in ``read``); None when one is not as
    recorded."""
    bundles = []
    for name in names:
        record = recorded[name][1].bundle
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


def from_records(repo: Path, names: list[str], mirror: Path | None, with_chart: bool, read: Read,
                 messages: Messages) -> Outcome | None:
    """The outcome without rendering anything, when every spec of the repo and the fleet have a record of their
    current inputs and output/ holds exactly the recorded files; else None. ``read``: the clusters' records and
    their bundles read back from output/ (None: not as recorded), kept for the run that renders the others."""
    chart_wanted = with_chart or chart_written(repo)
    records = _records(mirror, chart_wanted)
    recorded = _everyone_recorded(repo, records)
    if recorded is None:
        return None
    if chart_wanted != (chart_wanted or any(r.source == "chart" for _, r in recorded.values())):
        return None
    fleet_record = records.fleet(records.fleet_key({n: k for n, (k, _) in recorded.items()}, names, chart_wanted))
    if fleet_record is None:
        return None
    bundles = _read_back(repo, names, recorded, read)
    fleet_ok, fleet = _optional(repo, fleet_record.fleet)
    chart_ok, chart = _optional(repo, fleet_record.chart)
    if bundles is None or not fleet_ok or not chart_ok:
        return None
    chosen = [recorded[name][1] for name in names]
    for name in names:
        if (repo / layout.user_overlay_dir(name)).exists():
            has_user_overlay(repo, name)  # refusals (a link out of the repo, a FIFO) are said as before
    for record in chosen:
        messages.warnings(record.notes)
    note_missing_charts({record.release for record in chosen}, mirror, messages)
    messages.findings(_sorted_findings(chosen, fleet_record.findings))
    return Outcome(bundles, fleet, chart, list(recorded), [],
                   {record.release_dir for _, record in recorded.values() if record.release_dir},
                   any(record.asks_previous for record in chosen))


# -- the full path: render, build and check what is not recorded ----------------------------------------------------


def _unchanged(repo: Path, fleet: Fleet, records: Records, keys: dict[str, str | None], changed: set[str],
               read: Read) -> dict[str, tuple[ClusterRecord, Bundle]]:
    """The selected clusters recorded with their current inputs whose files output/ holds as recorded (and that
    are not ``changed`` since the commit compared with)."""
    unchanged = {}
    for cluster in fleet.selected:
        record = records.cluster(keys[cluster.name])
        if record is None or cluster.name in changed:
            continue
        kept, bundle = read.get(cluster.name, (None, None))
        if kept != record.bundle:  # not read yet (or another record)
            bundle = record.bundle.read_back(repo)
        if bundle is not None:
            unchanged[cluster.name] = (record, bundle)
    return unchanged


def _cluster_record(cluster: Cluster, bundle: Bundle, findings: list[Finding], asks_previous: bool) -> ClusterRecord:
    return ClusterRecord(BundleRecord.of(bundle), tuple(cluster.notes), cluster.release.tag, cluster.argocd.source,
                         release_dir(cluster.release.tag) if cluster.argocd.delivery == "rendered" else "",
                         tuple(findings), asks_previous)


def _record(records: Records, keys: dict[str, str | None], checked: Checked, fleet: Fleet, names: list[str],
            with_chart: bool, asked: set[str]) -> None:
    """Record every cluster just checked (all passed), and the fleet when every spec of the repo has a key."""
    for cluster, bundle in checked.rendered.clusters:
        key = keys[cluster.name]
        if key is not None:
            records.record(key, _cluster_record(cluster, bundle, checked.by_cluster[cluster.name],
                                                cluster.name in asked))
    rendered = checked.rendered
    if fleet.everyone is not None and all(keys.values()) and rendered.fleet is not None:
        records.record(records.fleet_key({n: k for n, k in keys.items() if k}, names, with_chart), FleetRecord(
            BundleRecord.of(rendered.fleet), BundleRecord.of(rendered.chart) if rendered.chart else None,
            tuple(checked.fleet_findings)))


def _assembled(fleet: Fleet, unchanged: dict[str, tuple[ClusterRecord, Bundle]], checked: Checked) -> Outcome:
    """The outcome of a run that rendered ``checked`` and read ``unchanged`` back."""
    rendered = {cluster.name: bundle for cluster, bundle in checked.rendered.clusters}
    bundles = [unchanged[c.name][1] if c.name in unchanged else rendered[c.name] for c in fleet.selected]
    everyone = fleet.everyone
    return Outcome(bundles, checked.rendered.fleet, checked.rendered.chart,
                   [c.name for c in everyone] if everyone is not None else None, [e.file for e in fleet.broken],
                   {release_dir(c.release.tag) for c in everyone or [] if c.argocd.delivery == "rendered"})


def _say_findings(messages: Messages, unchanged: dict[str, tuple[ClusterRecord, Bundle]], checked: Checked) -> None:
    """Every finding of the run (the recorded clusters' and the checked ones'); ChecksFailed on an error."""
    findings = _sorted_findings([record for record, _ in unchanged.values()], checked.findings)
    messages.findings(findings)
    errors = counts(findings)[0]
    if errors:
        raise ChecksFailed(f"validation failed: {errors} error(s); nothing written")


def _full(repo: Path, names: list[str], mirror: Path | None, messages: Messages, with_chart: bool,
          progress: Progress, comparison: CommittedOutput | None, changed: set[str], read: Read) -> Outcome:
    fleet = load_fleet(repo, names)
    for cluster in fleet.selected:
        messages.warnings(cluster.notes)
    with_chart = with_chart or wants_chart(repo, [*fleet.selected, *fleet.others])
    records = _records(mirror, with_chart)
    keys = {c.name: records.cluster_key(repo, c.name) for c in [*fleet.selected, *fleet.others]}
    unchanged = _unchanged(repo, fleet, records, keys, changed, read)
    note_missing_charts({c.release.tag for c in fleet.selected}, mirror, messages)  # in one line, as a full run
    asked: set[str] = set()

    def previous(name: str) -> Sequence[Obj] | None:
        """What Argo CD applied before (when comparing), and which clusters have objects with update rules."""
        asked.add(name)
        return comparison(name) if comparison is not None else None

    todo = [c for c in fleet.selected if c.name not in unchanged]
    release = fleet.selected[0].release.tag if fleet.selected else None
    checked = check_clusters(repo, todo, fleet.everyone or [], mirror, messages, with_chart, progress, release,
                             previous)
    for note in comparison.notes if comparison is not None else []:
        messages.note("gen check", note)
    _say_findings(messages, unchanged, checked)
    _record(records, keys, checked, fleet, names, with_chart, asked)
    return _assembled(fleet, unchanged, checked)


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
    fast = None if changed & set(names) else from_records(repo, names, mirror, with_chart, read, messages)
    if fast is None:
        return _full(repo, names, mirror, messages, with_chart, progress, comparison, changed, read)
    if comparison is not None:
        skipped = comparison.revision is None and fast.asks_previous
        for note in [comparison.skipped] if skipped else comparison.unchanged_note():
            messages.note("gen check", note)
    return fast
