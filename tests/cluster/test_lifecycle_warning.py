"""A spec on a release at end of life (NVIDIA's lifecycle notes, as of the newest release) gets one warning naming
the file, line and field, since when, and the fix; a maintained or the latest release gets none."""

from __future__ import annotations

import pytest

from generator import catalog
from generator.pipeline.clusters import checked_cluster
from tests.conftest import REPO, spec_text, write_spec
from tests.helpers import run_gen

CAT = catalog.load()
NO_VERSION = """\
name: prod
mode: sriov
vmSize: Standard_ND96asr_v4
argocd:
  repoURL: https://github.com/example/aks-gitops.git
"""


def _notes(text: str) -> tuple[str, ...]:
    return checked_cluster(text.encode(), "clusters/prod.yaml", expected_name="prod").notes


def test_a_given_end_of_life_version_names_file_line_field_and_fix() -> None:
    assert _notes(spec_text(version="v25.4.0")) == (
        "clusters/prod.yaml:5:12: field 'networkOperator.version': v25.4.0 is end of life since v25.10.0 per "
        "NVIDIA's lifecycle notes ('End of Support' in the v26.4.1 notes); upgrade one release at a time: gen "
        "upgrade --cluster prod --to v25.7.0 (then on to v26.4.1)",)


def test_end_of_life_by_policy_says_so() -> None:
    [note] = _notes(spec_text(version="v25.1.0"))
    assert "v25.1.0 is end of life since v25.7.0 per NVIDIA's lifecycle policy" in note


def test_a_defaulted_version_says_it_is_the_default() -> None:
    assert CAT.release(CAT.default_release).status.status == "end-of-life"  # the guide's release
    [note] = _notes(NO_VERSION)
    assert note.startswith(f"clusters/prod.yaml:1:1: field 'networkOperator.version': {CAT.default_release} "
                           "(the default) is end of life since ")
    following = CAT.release_tags[CAT.release_tags.index(CAT.default_release) + 1]
    assert note.endswith(f"gen upgrade --cluster prod --to {following} (then on to v26.4.1)")
    [note] = _notes(NO_VERSION + "networkOperator:\n  namespace: nvidia-network-operator\n")
    assert note.startswith("clusters/prod.yaml:7:3: field 'networkOperator.version': ")  # at its parent


@pytest.mark.parametrize("tag", list(CAT.releases))
def test_only_end_of_life_releases_warn(tag: str) -> None:
    notes = _notes(spec_text(version=tag))
    if CAT.release(tag).status.status == "end-of-life":
        assert len(notes) == 1 and f"{tag} is end of life" in notes[0]
    else:
        assert notes == ()  # v26.1.2 maintained, v26.4.1 latest


def test_gen_bundle_prints_it_once_as_a_warning(gitops_repo) -> None:  # type: ignore[no-untyped-def]
    (gitops_repo / "clusters" / "prod.yaml").write_bytes((REPO / "clusters" / "prod.yaml").read_bytes())
    write_spec(gitops_repo, "eu-1", version="v26.4.1")
    proc = run_gen("bundle", "--all", repo=gitops_repo, check=True)
    warnings = [line for line in proc.err.splitlines() if line.startswith("gen: warning:")]
    assert warnings == ["gen: warning: clusters/prod.yaml:8:12: field 'networkOperator.version': v25.4.0 is end of "
                        "life since v25.10.0 per NVIDIA's lifecycle notes ('End of Support' in the v26.4.1 notes); "
                        "upgrade one release at a time: gen upgrade --cluster prod --to v25.7.0 (then on to v26.4.1)"]
