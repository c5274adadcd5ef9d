"""Small plain kustomize directories built several to a kustomize process give each directory exactly what its own
build gives: the same objects, in the same order, with the same keys; and the same error, built alone, when a batch
fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.programs import kustomize
from generator.programs.kustomize_batch import MAX_DIRECTORIES, Plain, batches, plain, split


def _dir(root: Path, name: str, files: dict[str, str], kustomization: str | None = None) -> Path:
    d = root / name
    d.mkdir(parents=True)
    for file, text in files.items():
        (d / file).write_text(text)
    (d / "kustomization.yaml").write_text(kustomization or "resources:\n" + "".join(f"- {f}\n" for f in files))
    return d


def _cm(name: str, extra: str = "") -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n{extra}"


def test_plain_directories_only(tmp_path: Path) -> None:
    ok = plain(_dir(tmp_path, "ok", {"a.yaml": _cm("a") + "---\n" + _cm("b")},
                    "# a comment\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                    "resources:\n- a.yaml\n"))
    assert ok is not None and ok.files == ("a.yaml",) and ok.ids == {("ConfigMap", "a"), ("ConfigMap", "b")}
    refused = {
        "a patch": ("resources:\n- a.yaml\npatches:\n- path: a.yaml\n", {"a.yaml": _cm("a")}),
        "a namespace": ("resources:\n- a.yaml\nnamespace: x\n", {"a.yaml": _cm("a")}),
        "a base": ("resources:\n- ../ok\n", {"a.yaml": _cm("a")}),
        "a component": ("kind: Component\nresources:\n- a.yaml\n", {"a.yaml": _cm("a")}),
        "a path": ("resources:\n- sub/a.yaml\n", {"a.yaml": _cm("a")}),
        "twice": ("resources:\n- a.yaml\n- a.yaml\n", {"a.yaml": _cm("a")}),
        "a missing file": ("resources:\n- b.yaml\n", {"a.yaml": _cm("a")}),
        "no resources": ("resources: []\n", {"a.yaml": _cm("a")}),
        "a List": ("resources:\n- a.yaml\n", {"a.yaml": "apiVersion: v1\nkind: List\nmetadata:\n  name: l\n"}),
        "no name": ("resources:\n- a.yaml\n", {"a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n"}),
        "an id twice": ("resources:\n- a.yaml\n", {"a.yaml": _cm("a") + "---\n" + _cm("a")}),
        "kustomize's own annotation": ("resources:\n- a.yaml\n", {
            "a.yaml": _cm("a", "  annotations:\n    config.kubernetes.io/local-config: 'true'\n")}),
        "not YAML": ("resources:\n- a.yaml\n", {"a.yaml": "a: [1\n"}),
        "two documents": ("resources:\n- a.yaml\n---\nresources: []\n", {"a.yaml": _cm("a")}),
    }
    for name, (text, files) in refused.items():
        assert plain(_dir(tmp_path, name.replace(" ", "-").replace("'", ""), files, text)) is None, name
    linked = _dir(tmp_path, "linked", {"b.yaml": _cm("b")})
    (linked / "a.yaml").symlink_to(linked / "b.yaml")
    (linked / "kustomization.yaml").write_text("resources:\n- a.yaml\n")
    assert plain(linked) is None
    large = {f"f{i}.yaml": _cm(f"c{i}", "data:\n  x: '" + "x" * 200_000 + "'\n") for i in range(8)}
    assert plain(_dir(tmp_path, "large", large)) is None  # past a batch's bytes: built alone, its files not all read
    assert plain(_dir(tmp_path, "fits", dict(list(large.items())[:4]))) is not None
    both = _dir(tmp_path, "both", {"a.yaml": _cm("a")})
    (both / "kustomization.yml").write_text("resources:\n- a.yaml\n")
    assert plain(both) is None and plain(tmp_path / "nowhere") is None


def _plain(n: int, *ids: tuple[str, str], size: int = 10) -> Plain:
    return Plain(Path(f"d{n}"), ("a.yaml",), frozenset(ids), size)


def test_batches_keep_ids_apart_and_stay_bounded() -> None:
    same = [_plain(i, ("Namespace", "network-operator"), ("AppProject", f"p{i}")) for i in range(6)]
    assert batches(same, 4) == []  # every one shares an id with every other: each is built alone
    apart = [_plain(i, ("AppProject", f"p{i}")) for i in range(10)]
    assert batches(apart, 2) == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    assert all(len(b) <= MAX_DIRECTORIES for b in batches([_plain(i, ("A", str(i))) for i in range(500)], 1))
    mixed = [_plain(0, ("Namespace", "x")), _plain(1, ("Namespace", "x")), _plain(2, ("A", "y")),
             _plain(3, ("A", "z"))]
    assert batches(mixed, 1) == [[0, 2, 3]]
    assert batches([_plain(i, ("A", str(i)), size=600 * 1024) for i in range(4)], 1) == []
    # each directory is offered to the 16 latest batches not full: 20,000 that all share an id, in linear time
    assert batches([_plain(i, ("Namespace", "x"), ("A", str(i))) for i in range(20_000)], 4) == []
    late = [_plain(i, ("Namespace", "x")) for i in range(40)] + [_plain(40, ("A", "y"))]
    assert batches(late, 1) == [[24, 40]]  # the oldest of the 16 latest batches: not the first one


def test_split_gives_each_object_back_or_refuses() -> None:
    members = [Plain(Path("x"), ("a.yaml",), frozenset(), 1), Plain(Path("y"), ("b.yaml",), frozenset(), 1)]

    def obj(origin: str, **more: str) -> dict[str, object]:
        return {"kind": "ConfigMap", "metadata": {"name": "n", "annotations": {
            "config.kubernetes.io/origin": f"path: {origin}\n", **more}}}

    parts = split([obj("d1/b.yaml"), obj("d0/a.yaml", keep="1")], members)
    assert parts == [[{"kind": "ConfigMap", "metadata": {"name": "n", "annotations": {"keep": "1"}}}],
                     [{"kind": "ConfigMap", "metadata": {"name": "n"}}]]
    assert split([obj("d2/a.yaml")], members) is None
    assert split([obj("d0/b.yaml")], members) is None
    assert split([{"kind": "ConfigMap", "metadata": {"name": "n"}}], members) is None
    assert split([obj("d0/a.yaml\nref: main")], members) is None


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    calls: list[Path] = []
    real = kustomize.build

    def build(directory: Path, command: object = None) -> kustomize.BuildResult:
        calls.append(directory)
        return real(directory, command)  # type: ignore[arg-type]

    monkeypatch.setattr(kustomize, "build", build)
    return calls


def _alone(dirs: list[Path]) -> list[tuple[str, str]]:
    return [(json.dumps(r.objects), r.error) for r in (kustomize.build(d) for d in dirs)]


@pytest.mark.kustomize
def test_a_batch_gives_what_each_build_alone_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dirs = []
    for i in range(6):
        dirs.append(_dir(tmp_path, f"c{i}", {
            "project.yaml": f"# header {i}\napiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata:\n"
                            f"  name: p{i}\n  namespace: argocd\n  annotations: {{}}\nspec:\n  z: 1\n  a: [2]\n",
            "cm.yaml": _cm(f"cm{i}", "  annotations:\n    b: '1'\n    a: x\ndata:\n  y: 'on'\n  n: 0777\n")
                       + "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns" + str(i % 2) + "\n"}))
    dirs.append(_dir(tmp_path, "broken", {"a.yaml": _cm("''")}))  # kustomize: missing metadata.name
    dirs.append(_dir(tmp_path, "patched", {"a.yaml": _cm("p")}, "resources:\n- a.yaml\nnamePrefix: x-\n"))
    expected = _alone(dirs)
    calls = _counting(monkeypatch)
    got = kustomize.build_many(dirs, done=lambda: None)
    assert [(json.dumps(r.objects), r.error) for r in got] == expected
    assert [r.directory for r in got] == dirs and expected[6][1] and not expected[0][1]
    # four batches of two (ns0/ns1 keep them apart), broken in one of them: built again alone with its own error
    assert len(calls) < 2 * len(dirs) and sum(1 for c in calls if c.name.startswith("gen-batch-")) >= 2


_NAMES = st.sampled_from(["a", "b", "network-operator", "x-1"])
_OBJECT = st.tuples(
    st.sampled_from([("v1", "ConfigMap"), ("v1", "Namespace"), ("v1", "Service"), ("mellanox.com/v1alpha1",
                     "NicClusterPolicy"), ("rbac.authorization.k8s.io/v1", "ClusterRole"), ("apps/v1", "Deployment")]),
    _NAMES, st.sampled_from(["", "  namespace: default\n", "  namespace: other\n"]),
    st.sampled_from(["", "  annotations: {}\n", "  annotations:\n    z: '1'\n", "  labels:\n    a: b\n"]),
    st.sampled_from(["", "spec:\n  b: 1\n  a: 'yes'\n", "data:\n  k: v\n"]))


@pytest.mark.kustomize
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.lists(_OBJECT, min_size=1, max_size=2), min_size=1, max_size=2), min_size=2, max_size=5))
def test_any_plain_directories_built_together_or_alone_agree(
        tmp_path_factory: pytest.TempPathFactory, spec: list[list[list[tuple[object, ...]]]]) -> None:
    root = tmp_path_factory.mktemp("batch")
    dirs = []
    for i, files in enumerate(spec):
        texts = {}
        for j, objects in enumerate(files):
            texts[f"f{j}.yaml"] = "---\n".join(
                f"apiVersion: {gvk[0]}\nkind: {gvk[1]}\nmetadata:\n  name: {name}\n{ns}{meta}{body}"  # type: ignore[index]
                for gvk, name, ns, meta, body in objects)
        dirs.append(_dir(root, f"d{i}", texts))
    expected = _alone(dirs)
    assert [(json.dumps(r.objects), r.error) for r in kustomize.build_many(dirs)] == expected
