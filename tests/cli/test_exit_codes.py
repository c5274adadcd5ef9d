"""Every exit code generator/core/errors.py documents, from the command line, each for its reason."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from generator.cli import main as cli_main
from generator.core import errors
from tests.conftest import write_spec
from tests.helpers import run_gen

COMPONENT = "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"


def _overlay(repo: Path, kustomization: str, **files: str) -> None:
    overlay = repo / "overlays" / "prod"
    overlay.mkdir(parents=True, exist_ok=True)
    (overlay / "kustomization.yaml").write_text(COMPONENT + kustomization)
    for name, text in files.items():
        (overlay / name).write_text(text)


def test_0_ok(gitops_repo: Path) -> None:
    write_spec(gitops_repo)
    assert run_gen("catalog").code == errors.EXIT_OK
    assert run_gen("bundle", "--all", repo=gitops_repo).code == errors.EXIT_OK
    assert run_gen("check", repo=gitops_repo).code == errors.EXIT_OK


def test_1_checks_failed(gitops_repo: Path) -> None:
    write_spec(gitops_repo)
    assert run_gen("bundle", "--cluster", "prod", repo=gitops_repo).code == 0
    # output out of date
    (gitops_repo / "output/prod/base/namespace.yaml").write_text("edited\n")
    assert run_gen("check", repo=gitops_repo).code == errors.EXIT_FAILED
    # a file gen does not own in the way
    (gitops_repo / "output/prod/base/namespace.yaml").unlink()
    manifest = gitops_repo / "output/prod/.gen-manifest.json"
    manifest.write_text(manifest.read_text().replace('"base/namespace.yaml"', '"base/other.yaml"'))
    (gitops_repo / "output/prod/base/namespace.yaml").write_text("mine\n")
    proc = run_gen("bundle", "--cluster", "prod", repo=gitops_repo)
    assert proc.code == errors.EXIT_FAILED and "not owned by gen" in proc.err
    # a validation error
    _overlay(gitops_repo, "patches:\n- path: p.yaml\n", **{"p.yaml": (
        "apiVersion: mellanox.com/v1alpha1\nkind: NicClusterPolicy\nmetadata:\n  name: nic-cluster-policy\n"
        "spec:\n  bogus: 1\n")})
    proc = run_gen("bundle", "--cluster", "prod", "--force", repo=gitops_repo)
    assert proc.code == errors.EXIT_FAILED
    assert "overlays/prod/p.yaml:6:10: error schema: unknown field 'bogus'" in proc.err
    # a kustomize build of the cluster's overlay that fails
    _overlay(gitops_repo, "patches:\n- path: missing.yaml\n")
    proc = run_gen("plan", "--cluster", "prod", repo=gitops_repo)
    assert proc.code == errors.EXIT_FAILED and "gen: error: kustomize build" in proc.err


@pytest.mark.parametrize(("args", "setup", "words"), [
    (["bundle"], None, "one of the arguments --cluster --all is required"),
    (["bundle", "--cluster", "nope"], None, "no such cluster spec"),
    (["bundle", "--cluster", "prod", "--prune"], None, "--prune needs --all"),
    (["bundle", "--cluster", "prod"], "spec", "field 'mode'"),
    (["bundle", "--cluster", "prod"], "overlay", "must be 'kind: Component'"),
    (["bundle", "--cluster", "prod", "--from", "/nonexistent"], None, "not a directory"),
    (["bundle", "--cluster", "prod"], "output-link", "gen never writes through symlinks"),
    (["bundle", "--cluster", "prod"], "no-kustomize", "cannot run"),
    (["lint", "missing.yaml"], None, "missing.yaml: no such file or directory"),
])
def test_2_bad_input_or_usage(gitops_repo: Path, args: list[str], setup: str | None, words: str) -> None:
    write_spec(gitops_repo)
    env: dict[str, str | None] = {}
    if setup == "spec":
        spec = gitops_repo / "clusters/prod.yaml"
        spec.write_text(spec.read_text().replace("mode: sriov", "mode: sriovv"))
    elif setup == "overlay":
        (gitops_repo / "overlays/prod").mkdir(parents=True)
        (gitops_repo / "overlays/prod/kustomization.yaml").write_text("kind: Kustomization\n")
    elif setup == "output-link":
        (gitops_repo / "elsewhere").mkdir()
        (gitops_repo / "output").symlink_to(gitops_repo / "elsewhere")
    elif setup == "no-kustomize":
        env["GEN_KUSTOMIZE"] = str(gitops_repo / "no-such-kustomize")
    proc = run_gen(*args, repo=gitops_repo, cwd=gitops_repo, env=env)  # cwd: gen lint's paths
    assert proc.code == errors.EXIT_INPUT, proc.err
    assert words in proc.err and "Traceback" not in proc.err


def test_130_interrupted(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*_: object, **__: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_main.catalog, "run", interrupted)
    proc = run_gen("catalog")
    assert proc.code == errors.EXIT_INTERRUPTED and "interrupted" in proc.err


def test_every_error_class_has_a_documented_code() -> None:
    seen = set()
    stack: list[type[errors.GenError]] = [errors.GenError]
    while stack:
        cls = stack.pop()
        seen.add(cls.exit_code)
        stack += cls.__subclasses__()
    assert seen <= {errors.EXIT_FAILED, errors.EXIT_INPUT, errors.EXIT_ENVIRONMENT}
    doc = errors.__doc__ or ""
    for code in (errors.EXIT_OK, errors.EXIT_FAILED, errors.EXIT_INPUT, errors.EXIT_ENVIRONMENT,
                 errors.EXIT_INTERRUPTED):
        assert f"\n    {code} " in doc or f"\n    {code}  " in doc
    assert os.path.basename(errors.__file__) == "errors.py"
