"""A spec on a release at end of life (NVIDIA's lifecycle notes, as of the newest release) gets one warning naming
the file, line and field, since when, and the fix; a maintained or the latest release gets none."""

from __future__ import annotations

import pytest

from generator import catalog
from generator.pipeline.clusters import checked_cluster
from tests.conftest import spec_text, write_spec
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


def test_the_default_is_the_newest_supported_release_and_says_nothing() -> None:
    """A spec without networkOperator.version (and so a new repo's first cluster) starts on a supported release."""
    assert CAT.default_release == CAT.latest.tag and CAT.latest.status.status == "latest"
    assert _notes(NO_VERSION) == ()
    assert checked_cluster(NO_VERSION.encode(), "clusters/prod.yaml").release.tag == CAT.latest.tag
    # the guide's release is one line away, and warns
    [note] = _notes(NO_VERSION + "networkOperator:\n  version: v25.4.0\n")
    assert note.startswith("clusters/prod.yaml:7:12: field 'networkOperator.version': v25.4.0 is end of life since ")


@pytest.mark.parametrize("tag", list(CAT.releases))
def test_only_end_of_life_releases_warn(tag: str) -> None:
    notes = _notes(spec_text(version=tag))
    if CAT.release(tag).status.status == "end-of-life":
        assert len(notes) == 1 and f"{tag} is end of life" in notes[0]
    else:
        assert notes == ()  # v26.1.2 maintained, v26.4.1 latest


def test_each_warning_is_said_once_per_run_for_the_clusters_asked_about(gitops_repo) -> None:  # type: ignore[no-untyped-def]
    write_spec(gitops_repo, "prod", version="v25.4.0")
    write_spec(gitops_repo, "eu-1", version="v26.4.1")
    eol = ("gen: warning: clusters/prod.yaml:5:12: field 'networkOperator.version': v25.4.0 is end of life since "
           "v25.10.0 per NVIDIA's lifecycle notes ('End of Support' in the v26.4.1 notes); upgrade one release at a "
           "time: gen upgrade --cluster prod --to v25.7.0 (then on to v26.4.1)")
    for args in (("bundle", "--all"), ("bundle", "--all"), ("check",), ("check", "--cluster", "prod"),
                 ("chart",), ("bundle", "--all")):  # rendered, then read back from the records; with the chart
        proc = run_gen(*args, repo=gitops_repo, check=True)
        warnings = [line for line in proc.err.splitlines() if line.startswith("gen: warning:")]
        assert warnings == [eol], (args, proc.err)
    # working on another cluster: prod's warning is not repeated
    for args in (("check", "--cluster", "eu-1"), ("bundle", "--cluster", "eu-1"), ("images", "--cluster", "eu-1"),
                 ("plan", "--cluster", "eu-1")):
        proc = run_gen(*args, repo=gitops_repo, check=True)
        assert "warning" not in proc.err, (args, proc.err)
