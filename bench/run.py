"""`make bench`: gen on synthetic fleets of growing size, against the floors of the programs it runs.

    .venv/bin/python bench/run.py [--sizes 10,50,100,500] [--runs 3] [--quick] [--out bench/results]

For each fleet size N (a repo made by bench/fleet.py in a temporary directory, seed --seed) it measures, with the
real CLI in a fresh process each time (CI=true: no progress bar), the median of --runs runs of:

  cold      gen bundle --all with an empty cache (GEN_CACHE_DIR) and no output/
  warm      gen bundle --all again, nothing changed
  check     gen check
  changed   gen check after one spec changed (a release bump); the first run (which builds what is new) and the
            median of the runs after it
  lint      gen lint output/ (every file and kustomize directory of the output): right after each cold bundle, from
            an empty cache, again (first run and median after it), and after one spec changed and gen bundle --all
  memory    the peak resident memory of the largest process of a run (gen, or a kustomize it ran)

then, once, the floors on the same inputs: one `kubectl kustomize` of a mode overlay with a patch, one
`helm template` of the rdma-infiniband chart with a cluster's values, and check-jsonschema (installed into a
bench-only venv, bench/.venv-floor, when it is not on PATH) against gen lint on the fleet's NicClusterPolicy files;
and the lint benchmark (bench/lint_bench.py: 10,000 objects). It prints the table with ratios, and writes
results.json, results.md and fleet-time.svg (time against fleet size) to --out.

The machine is shared and has 2 cores: every figure is a median, and the load average is recorded with it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import fleet as fleet_gen  # noqa: E402
import lint_bench  # noqa: E402
import report  # noqa: E402
from measure import Run, Series, run  # noqa: E402

BIN = Path(sys.executable).parent
GEN = str(BIN / "gen")
FLOOR_VENV = REPO / "bench" / ".venv-floor"
CHECK_JSONSCHEMA = "check-jsonschema==0.39.0"
FULL_SIZES = (10, 50, 100, 250, 500, 1000)
DEFAULT_SIZES = (10, 50, 100, 500)
QUICK_SIZES = (10, 50)


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def base_env(cache: Path) -> dict[str, str]:
    # as gen is installed and run: without GEN_ settings, and with Python's compiled bytecode kept (a shell that
    # sets PYTHONDONTWRITEBYTECODE would make every run compile gen's modules again: ~0.1 to 0.3 s of start-up)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEN_") and k != "PYTHONDONTWRITEBYTECODE"}
    env.update({"GEN_CACHE_DIR": str(cache), "CI": "true", "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}"})
    mirror = os.environ.get("GEN_SCHEMA_MIRROR") or str(REPO.parent / "shared" / "upstream")
    if Path(mirror).is_dir():
        env["GEN_SCHEMA_MIRROR"] = mirror
    return env


def gen(args: list[str], repo: Path, env: dict[str, str], *, ok: tuple[int, ...] = (0,)) -> Run:
    result = run([GEN, *args], repo, env)
    if result.code not in ok:
        raise SystemExit(f"bench: gen {' '.join(args)} exited {result.code} in {repo}:\n{result.stderr[-3000:]}")
    return result


def count_files(root: Path) -> int:
    return sum(1 for p in root.rglob("*") if p.is_file()) if root.is_dir() else 0


def change_one(repo: Path, members: list[fleet_gen.Member], which: int = 0) -> tuple[Path, str]:
    """Bump the release of one cluster (the ``which``-th not on the newest release and without an IPAM choice, which a
    newer release may not offer); returns the file and its old text."""
    import generator.catalog as catalog

    tags = catalog.load().release_tags
    eligible = [m for m in members if m.release != tags[-1] and "ipam:" not in m.spec] or members
    member = eligible[which % len(eligible)]
    path = repo / "clusters" / f"{member.name}.yaml"
    old = path.read_text()
    newer = tags[min(tags.index(member.release) + 1, len(tags) - 1)]
    path.write_text(old.replace(f"version: {member.release}", f"version: {newer}", 1))
    return path, old


def measure_size(n: int, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    repo, cache = work / f"fleet-{n}", work / f"cache-{n}"
    members = fleet_gen.fleet(n, args.seed)
    fleet_gen.write_fleet(repo, members)
    env = base_env(cache)
    out: dict[str, Any] = {"clusters": n, "load_before": os.getloadavg()[0]}
    no_lint = args.no_lint or n > args.lint_max
    cold, after_bundle, lint_empty = Series(), Series(), Series()
    for i in range(args.cold_runs):
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(repo / "output", ignore_errors=True)
        log(f"{n} clusters: cold gen bundle --all ({i + 1}/{args.cold_runs})")
        first = cold.add(gen(["bundle", "--all"], repo, env))
        log(f"  {first.seconds:.1f} s; {first.stderr.strip().splitlines()[-1] if first.stderr.strip() else ''}")
        if not no_lint:  # what a pre-commit hook or CI job pays right after gen bundle
            after_bundle.add(gen(["lint", "output"], repo, env))
            log(f"  gen lint output/ right after: {after_bundle.runs[-1].seconds:.1f} s")
    out["kustomize_builds"] = count_files(cache / "kustomize")
    out["files"] = count_files(repo / "output")
    out["summary_line"] = next((line for line in reversed(cold.runs[-1].stdout.splitlines())
                                if line.startswith("gen bundle:")), "")
    if not no_lint:
        for i in range(args.cold_runs if n >= 100 else 1):
            empty = work / f"cache-{n}-lint-empty"
            shutil.rmtree(empty, ignore_errors=True)
            log(f"{n} clusters: gen lint output/ from an empty cache ({i + 1})")
            lint_empty.add(gen(["lint", "output"], repo, base_env(empty)))
        out["lint_builds"] = count_files(work / f"cache-{n}-lint-empty" / "kustomize-dirs")
        out["lint_after_bundle"] = after_bundle.as_json()
        out["lint_empty"] = lint_empty.as_json()
    warm, check, changed, lint, lint_changed = Series(), Series(), Series(), Series(), Series()
    log(f"{n} clusters: warm gen bundle --all, gen check (x{args.runs})")
    for _ in range(args.runs):
        warm.add(gen(["bundle", "--all"], repo, env))
        check.add(gen(["check"], repo, env))
    path, old = change_one(repo, members)
    log(f"{n} clusters: gen check after {path.name} changed (x{args.runs + 1})")
    first_changed = gen(["check"], repo, env, ok=(1,))
    for _ in range(args.runs):
        changed.add(gen(["check"], repo, env, ok=(1,)))
    path.write_text(old)
    if not no_lint:
        log(f"{n} clusters: gen lint output/ (x{args.runs + 1})")
        first_lint = gen(["lint", "output"], repo, env)
        for _ in range(args.runs):
            lint.add(gen(["lint", "output"], repo, env))
        out["lint_first_s"] = round(first_lint.seconds, 3)
        out["lint"] = lint.as_json()
        out["lint_summary"] = lint.runs[-1].stdout.strip().splitlines()[-1]
        # the everyday case: one spec changed, gen bundle --all, then the pre-commit hook's or CI job's gen lint
        # output/ (each run another cluster, so that no run finds the changed cluster's part kept)
        log(f"{n} clusters: gen lint output/ after one spec changed and gen bundle --all (x{args.runs})")
        for i in range(1, args.runs + 1):
            path, old = change_one(repo, members, which=i)
            gen(["bundle", "--all"], repo, env)
            lint_changed.add(gen(["lint", "output"], repo, env))
            path.write_text(old)
            gen(["bundle", "--all"], repo, env)
        out["lint_changed"] = lint_changed.as_json()
    out.update({"cold": cold.as_json(), "warm": warm.as_json(), "check": check.as_json(),
                "changed_first_s": round(first_changed.seconds, 3), "changed": changed.as_json(),
                "per_cluster_cold_s": round(cold.median / n, 4),
                "load": [round(x, 2) for x in os.getloadavg()],
                "max_rss_mb": round(max(s.max_rss_mb for s in (cold, warm, check, changed, after_bundle,
                                                               lint_empty, lint, lint_changed) if s.runs), 1),
                "load_after": os.getloadavg()[0]})
    out["_repo"] = str(repo)
    out["_cache"] = str(cache)
    return out


def _make_floor_venv() -> str:
    """Make bench/.venv-floor with check-jsonschema in it: with the venv module, else virtualenv (a dependency of
    the project's own venv, for a Python whose venv module cannot make one), a half-made one replaced; the empty
    string when it worked, else why not (with the tool's own message)."""
    makers = [[sys.executable, "-m", "venv", "--clear", str(FLOOR_VENV)],
              [sys.executable, "-m", "virtualenv", "--clear", "-q", str(FLOOR_VENV)]]
    why = ""
    for make in makers:
        try:
            subprocess.run(make, check=True, capture_output=True, text=True, timeout=300)
            subprocess.run([str(FLOOR_VENV / "bin" / "python"), "-m", "pip", "install", "-q", CHECK_JSONSCHEMA],
                           check=True, capture_output=True, text=True, timeout=600)
            return ""
        except subprocess.CalledProcessError as exc:
            why = f"{' '.join(exc.cmd[:4])}: exit {exc.returncode}: {(exc.stderr or '').strip()[-300:]}"
        except (subprocess.SubprocessError, OSError) as exc:
            why = str(exc)
    return why


def floor_venv_tool() -> tuple[str | None, str]:
    """check-jsonschema: from PATH, else from the bench-only venv (made on first use); or why not."""
    found = shutil.which("check-jsonschema")
    if found:
        return found, f"check-jsonschema from PATH ({found})"
    tool = FLOOR_VENV / "bin" / "check-jsonschema"
    if not tool.is_file():
        log(f"installing {CHECK_JSONSCHEMA} into {FLOOR_VENV.relative_to(REPO)} (bench only, not a gen dependency)")
        why = _make_floor_venv()
        if why:
            return None, f"check-jsonschema not measured: installing {CHECK_JSONSCHEMA} failed ({why})"
    return str(tool), f"{CHECK_JSONSCHEMA} in {FLOOR_VENV.relative_to(REPO)}"


def measure_floors(size: dict[str, Any], args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from generator.check.validators.kinds import schemas_for
    from generator.pipeline.chart_renders import chart_defaults
    from generator.render import rdma_chart
    from generator.sources.schema_store import open_store

    repo, env = Path(size["_repo"]), base_env(Path(size["_cache"]))
    floors: dict[str, Any] = {}
    overlays = sorted((repo / "output").glob("*/overlays/sriov"))
    kubectl = BIN / "kubectl"
    # the floor: kustomize as gen runs it (its Go runtime tuned: programs/kustomize.py GO_RUNTIME); and as a shell
    # runs it, for comparison
    from generator.programs.kustomize import GO_RUNTIME

    one, plain = Series(), Series()
    for _ in range(args.runs + 2):
        one.add(run([str(kubectl), "kustomize", str(overlays[0])], repo, {**env, **GO_RUNTIME}))
        plain.add(run([str(kubectl), "kustomize", str(overlays[0])], repo, env))
    what = f"kubectl kustomize {overlays[0].relative_to(repo)}"
    floors["kustomize"] = {**one.as_json(), "what": f"{what} (as gen runs it: {GO_RUNTIME})"}
    floors["kustomize_plain"] = {**plain.as_json(), "what": f"{what} (as a shell runs it)"}
    chart_dir = work / "chart"
    for rel, data in rdma_chart.chart_files(chart_defaults()).items():
        (chart_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (chart_dir / rel).write_bytes(data)
    values = sorted((repo / "output").glob("*/helm/rdma-infiniband-values.yaml"))[0]
    helm = Series()
    home = work / "helm-home"
    helm_env = {**env, "HOME": str(home), "XDG_CACHE_HOME": str(home / "c"), "XDG_CONFIG_HOME": str(home / "f"),
                "XDG_DATA_HOME": str(home / "d")}
    for _ in range(args.runs + 2):
        helm.add(run([str(BIN / "helm"), "template", "rdma-infiniband", str(chart_dir), "--values", str(values)],
                     repo, helm_env))
    floors["helm"] = {**helm.as_json(), "what": "helm template rdma-infiniband (gen chart's chart) with "
                                                f"{values.relative_to(repo)}"}
    # check-jsonschema against gen lint on the fleet's NicClusterPolicy files
    tool, how = floor_venv_tool()
    policies: dict[str, list[Path]] = {}
    for spec in sorted((repo / "clusters").glob("*.yaml")):
        release = next(line.split(":", 1)[1].strip() for line in spec.read_text().splitlines()
                       if line.strip().startswith("version:"))
        policies.setdefault(release, []).append(repo / "output" / spec.stem / "base" / "nicclusterpolicy.yaml")
    files = sum(len(v) for v in policies.values())
    lint_total, cjs_total = [], []
    store = open_store(Path(env["GEN_SCHEMA_MIRROR"]) if env.get("GEN_SCHEMA_MIRROR") else None)
    schema_files = {}
    for release in policies:
        kind = schemas_for(release, store=store).custom("mellanox.com/v1alpha1", "NicClusterPolicy")
        assert kind is not None
        schema_files[release] = work / f"nicclusterpolicy-{release}.json"
        schema_files[release].write_text(json.dumps(kind.schema))
    every = [str(path) for paths in policies.values() for path in paths]
    for _ in range(max(args.runs, 5)):
        # gen lint: one call, as a user runs it (a file under output/<name>/ is checked against that cluster's
        # release); check-jsonschema: one call per release, since a call takes one schema
        shutil.rmtree(Path(env["GEN_CACHE_DIR"]) / "lint-verdicts", ignore_errors=True)  # lints, not a kept verdict
        lint_s = gen(["lint", *every], repo, env).seconds
        cjs_s = 0.0
        for release, paths in policies.items():
            if tool:
                r = run([tool, "--schemafile", str(schema_files[release]), *map(str, paths)], repo, env)
                if r.code != 0:
                    raise SystemExit(f"bench: check-jsonschema failed:\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
                cjs_s += r.seconds
        lint_total.append(lint_s)
        cjs_total.append(cjs_s)
    floors["policies"] = {"files": files, "releases": len(policies),
                          "gen_lint_runs_s": [round(x, 3) for x in lint_total],
                          "check_jsonschema_runs_s": [round(x, 3) for x in cjs_total],
                          "ratios": [round(c / g, 2) for c, g in zip(cjs_total, lint_total, strict=True)] if tool
                          else [], "gen_lint_median_s": round(
        statistics.median(lint_total), 3), "check_jsonschema_median_s": round(statistics.median(cjs_total), 3)
        if tool else None, "check_jsonschema": how}
    return floors


def measure_lint_10k(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    corpus = work / "lint-10k"
    corpus.mkdir()
    lint_bench.write_corpus(corpus, 10_000, 100)
    env = base_env(work / "cache-lint")
    series = Series()
    verdicts = work / "cache-lint" / "lint-verdicts"  # each run lints (gen lint again would print its kept verdict)
    first = gen(["lint", "--release", "v26.4.1", "--format", "json", str(corpus)], work, env)
    for _ in range(args.runs):
        shutil.rmtree(verdicts, ignore_errors=True)
        series.add(gen(["lint", "--release", "v26.4.1", "--format", "json", str(corpus)], work, env))
    summary = json.loads(series.runs[-1].stdout)["summary"]
    return {"objects": 10_000, "files": 100, "first_s": round(first.seconds, 3), **series.as_json(),
            "summary": summary}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SIZES", ""),
                        help=f"fleet sizes, comma-separated (default {','.join(map(str, DEFAULT_SIZES))}; "
                             f"--full: {','.join(map(str, FULL_SIZES))}; $BENCH_SIZES)")
    parser.add_argument("--full", action="store_true", help="every size up to 1,000 clusters")
    parser.add_argument("--quick", action="store_true", help=f"sizes {','.join(map(str, QUICK_SIZES))}, one run each")
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "3")))
    parser.add_argument("--cold-runs", type=int, default=None, help="cold runs per size (default: --runs)")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--no-lint", action="store_true", help="skip gen lint output/")
    parser.add_argument("--lint-max", type=int, default=int(os.environ.get("BENCH_LINT_MAX", "500")),
                        help="measure gen lint output/ on fleets up to this size only (default 500; $BENCH_LINT_MAX)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()
    sizes = ([int(s) for s in args.sizes.split(",") if s.strip()] if args.sizes else
             list(QUICK_SIZES if args.quick else FULL_SIZES if args.full else DEFAULT_SIZES))
    if args.quick:
        args.runs = 1
    args.cold_runs = args.cold_runs or args.runs
    started = time.time()
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "load_at_start": round(os.getloadavg()[0], 2)},
        "settings": {"sizes": sizes, "runs": args.runs, "cold_runs": args.cold_runs, "seed": args.seed},
        "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
    }
    with tempfile.TemporaryDirectory(prefix="gen-bench-") as tmp:
        work = Path(tmp)
        per_size = [measure_size(n, args, work) for n in sizes]
        log("floors: kubectl kustomize, helm template, check-jsonschema")
        # on the 500-cluster fleet when measured (its NicClusterPolicy files against check-jsonschema)
        at = next((size for size in per_size if size["clusters"] == 500), per_size[-1])
        results["floors"] = measure_floors(at, args, work)
        log("gen lint on 10,000 objects")
        results["lint_10k"] = measure_lint_10k(args, work)
    for size in per_size:
        size.pop("_repo")
        size.pop("_cache")
    results["sizes"] = per_size
    results["fleet"] = fleet_gen.describe(fleet_gen.fleet(max(sizes), args.seed))
    results["machine"]["load_at_end"] = round(os.getloadavg()[0], 2)
    results["seconds"] = round(time.time() - started)
    results["targets"] = report.targets(results)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    markdown = report.markdown(results)
    (args.out / "results.md").write_text(markdown)
    (args.out / "fleet-time.svg").write_text(report.svg(results))
    print(markdown)
    print(f"bench: wrote {args.out}/results.json, results.md, fleet-time.svg in {results['seconds']} s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
