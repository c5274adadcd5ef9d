"""Property tests (hypothesis) over generated specs.

Valid specs: the bundle validates, kustomize builds every overlay, a second run is a no-op and
``gen check`` is clean. Broken specs: exit 2, one message naming the file, no traceback, output untouched.
Examples are bounded here (CI); ``bench/soak.py`` runs 1,000+ of each.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator import write
from generator.cluster.parse import SpecError
from generator.pipeline.clusters import checked_cluster, load_clusters
from generator.render import render
from generator.report.reporter import format_line
from tests.cluster.strategies import TRAPS, broken_spec, to_yaml, valid_spec
from tests.conftest import snapshot
from tests.helpers import bundle_findings, run_gen

VALID_EXAMPLES = int(os.environ.get("GEN_PROPERTY_EXAMPLES_VALID", "12"))
BROKEN_EXAMPLES = int(os.environ.get("GEN_PROPERTY_EXAMPLES_BROKEN", "150"))
CLI_EXAMPLES = int(os.environ.get("GEN_PROPERTY_EXAMPLES_CLI", "30"))
SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]}


@pytest.mark.slow  # kustomize builds for every example: 5-13 s
@settings(max_examples=VALID_EXAMPLES, **SETTINGS)
@given(spec=valid_spec())
def test_valid_spec_bundles_validates_and_is_idempotent(spec: dict) -> None:  # type: ignore[type-arg]
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        (repo / "clusters").mkdir()
        (repo / "clusters" / "prod.yaml").write_bytes(to_yaml(spec))
        rendered = render(load_clusters(repo, ["prod"]))
        findings = [f for f in bundle_findings(repo, rendered) if f.severity == "error"]
        assert not findings, "\n".join(map(format_line, findings))
        bundles = rendered.bundles()
        write.apply(repo, bundles)
        second = write.apply(repo, bundles)
        assert not second.written and not second.removed
        assert write.check(repo, bundles, all_clusters=True) == []
        # strings YAML 1.1 would retype come out quoted, exactly as given
        text = b"".join(bundles[0].files.values()).decode()
        for secret in spec["networkOperator"].get("imagePullSecrets", []):
            if secret in TRAPS:
                assert f'- "{secret}"' in text


@settings(max_examples=BROKEN_EXAMPLES, **SETTINGS)
@given(data=broken_spec())
def test_broken_spec_is_a_spec_error(data: bytes) -> None:
    try:
        checked_cluster(data, "clusters/prod.yaml", expected_name="prod")
    except SpecError as exc:
        assert str(exc).startswith("clusters/prod.yaml")
    else:
        raise AssertionError(f"accepted a broken spec:\n{data!r}")


@settings(max_examples=CLI_EXAMPLES, **SETTINGS)
@given(data=broken_spec(), name=st.sampled_from(["prod"]))
def test_broken_spec_exits_2_and_leaves_output_untouched(  # type: ignore[no-untyped-def]
        data: bytes, name: str, tmp_path_factory) -> None:
    repo = tmp_path_factory.mktemp("repo")
    shutil.rmtree(repo)
    (repo / "output" / name / "base").mkdir(parents=True)
    (repo / "output" / name / "base" / "namespace.yaml").write_text("# previous output\n")
    (repo / "clusters").mkdir()
    (repo / "clusters" / f"{name}.yaml").write_bytes(data)
    before = snapshot(repo / "output")
    proc = run_gen("bundle", "--all", repo=repo)
    assert proc.code == 2, proc.err
    assert "Traceback" not in proc.err and "clusters/prod.yaml" in proc.err
    assert snapshot(repo / "output") == before
