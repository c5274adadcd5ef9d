"""The CLI's commands: each strings the pipeline's stages together and prints the outcome."""

from __future__ import annotations

import sys
from pathlib import Path

from generator import catalog as catalog_data
from generator import pipeline, write
from generator.model import Bundle, Finding
from generator.spec.load import SpecError
from generator.validate import store as schema_store
from generator.validate.kustomize import KustomizeMissing
from generator.write.errors import WriteError, WriteRefused

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UserError(Exception):
    """Printed as one line; exit code 2."""


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def _select(repo: Path, names: list[str], all_clusters: bool) -> list[str]:
    try:
        known = pipeline.discover_clusters(repo)
    except pipeline.InputError as exc:
        raise UserError(str(exc)) from None
    if all_clusters:
        return known
    for name in names:
        if name not in known:
            hint = f"known: {', '.join(known)}" if known else "clusters/ has no specs yet"
            raise UserError(f"clusters/{name}.yaml: no such cluster spec ({hint}); create it from clusters/prod.yaml")
    return list(dict.fromkeys(names))


def _render_and_validate(repo: Path, names: list[str], mirror: Path | None
                         ) -> tuple[list[pipeline.Rendered] | None, int]:
    """Rendered bundles when every spec is valid and every object passes; else the exit code."""
    specs, errors = pipeline.load_specs(repo, names)
    if errors:
        for error in errors:
            _err(f"gen: error: {error}")
        _err(f"gen: {len(errors)} cluster spec(s) invalid; nothing written")
        return None, EXIT_USAGE
    try:
        rendered = pipeline.render(repo, specs)
        findings = pipeline.validate(repo, rendered, mirror)
    except (pipeline.InputError, schema_store.SchemaSourceError, KustomizeMissing) as exc:
        _err(f"gen: error: {exc}")
        return None, EXIT_USAGE
    errors_found = [f for f in findings if f.severity == "error"]
    _print_findings(findings)
    if errors_found:
        _err(f"gen: validation failed: {len(errors_found)} error(s); nothing written")
        return None, EXIT_FAILED
    return rendered, EXIT_OK


def _print_findings(findings: list[Finding]) -> None:
    for finding in findings:
        _err(finding.render())


def _bundles(rendered: list[pipeline.Rendered], all_clusters: bool) -> list[Bundle]:
    """The clusters' bundles, plus output/fleet/ when every cluster is in (it depends on all of them)."""
    bundles = [item.bundle for item in rendered]
    if all_clusters and rendered:
        bundles.append(pipeline.fleet_bundle([item.spec for item in rendered]))
    return bundles


def bundle(repo: Path, names: list[str], all_clusters: bool, *, prune: bool, force: bool,
           mirror: Path | None) -> int:
    if prune and not all_clusters:
        raise UserError("--prune needs --all (it removes output of clusters whose spec is gone)")
    selected = _select(repo, names, all_clusters)
    rendered, code = _render_and_validate(repo, selected, mirror)
    if rendered is None:
        return code
    try:
        report = write.apply(repo, _bundles(rendered, all_clusters), prune=prune, all_clusters=all_clusters,
                             force=force)
    except WriteRefused as exc:
        _err(f"gen: error: {exc}")
        return EXIT_FAILED
    except WriteError as exc:
        _err(f"gen: error: {exc}")
        return EXIT_USAGE
    print("\n".join(report.lines()))
    return EXIT_OK


def check(repo: Path, names: list[str], *, all_clusters: bool, mirror: Path | None) -> int:
    selected = _select(repo, names, all_clusters)
    rendered, code = _render_and_validate(repo, selected, mirror)
    if rendered is None:
        return code
    try:
        drift = write.check(repo, _bundles(rendered, all_clusters), all_clusters=all_clusters)
    except WriteError as exc:
        _err(f"gen: error: {exc}")
        return EXIT_USAGE
    if not drift:
        print(f"gen check: output/ is up to date with {len(rendered)} cluster spec(s)")
        return EXIT_OK
    for item in drift:
        print(f"{item.path}: {item.kind}")
        if item.diff:
            print(item.diff, end="" if item.diff.endswith("\n") else "\n")
    print(f"gen check: {len(drift)} file(s) out of date; run: gen bundle --all"
          + (" --prune" if any(d.kind == "stray" for d in drift) else ""), file=sys.stderr)
    return EXIT_FAILED


def plan(repo: Path, name: str) -> int:
    """Load, render and kustomize-build the cluster's mode overlay; print Argo CD's apply order."""
    from generator import plan as sync_plan

    selected = _select(repo, [name], all_clusters=False)
    specs, errors = pipeline.load_specs(repo, selected)
    if errors:
        raise UserError(str(errors[0]))
    try:
        rendered = pipeline.render(repo, specs)
        builds = pipeline.build_overlays(repo, rendered)
    except pipeline.InputError as exc:
        raise UserError(str(exc)) from None
    except KustomizeMissing as exc:
        raise UserError(str(exc)) from None
    spec = specs[0]
    result = builds[(spec.name, spec.mode)]
    if result.error:
        _err(f"gen: error: kustomize build {pipeline.overlay_dirs(spec)[spec.mode]} failed: {result.error}")
        return EXIT_FAILED
    print(f"# Argo CD sync order of {spec.name} (overlays/{spec.mode}); waves wait for health of the previous one")
    print(sync_plan.render(sync_plan.plan(spec, result.objects)), end="")
    return EXIT_OK


def schemas_pull(mirror: Path | None) -> int:
    cache = schema_store.default_cache_dir()
    try:
        fetched = schema_store.pull(cache, mirror)
    except schema_store.SchemaSourceError as exc:
        raise UserError(str(exc)) from None
    print(f"gen schemas pull: {len(fetched)} file(s) verified into {cache}")
    return EXIT_OK


def catalog(what: str | None) -> int:
    cat = catalog_data.load()
    if what in (None, "releases"):
        print("network-operator releases (chart https://helm.ngc.nvidia.com/nvidia network-operator):")
        for tag, rel in cat.releases.items():
            default = "  (default)" if tag == cat.default_release else ""
            print(f"  {tag:9} chart {rel.chart_version:8} ipoib ipam: {', '.join(rel.ipam)}{default}")
    if what in (None, "vm-sizes"):
        print("Azure VM sizes with InfiniBand:")
        for name, size in cat.vm_sizes.items():
            print(f"  {name:28} {size.nics} x {size.link:13} {size.nic_family:10} devices "
                  f"{','.join(size.device_ids):10} {size.description}")
    return EXIT_OK


__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "SpecError", "UserError"]
