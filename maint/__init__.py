"""Maintainer tools that regenerate committed data from ../shared and the catalog. Not installed with gen (the wheel
builds only ``generator``); run them from the repository root, and commit what they write:

    .venv/bin/python -m maint.derive_chart_facts          generator/catalog/charts/<tag>.yaml
    .venv/bin/python -m maint.derive_gpu_chart_facts      generator/catalog/charts/gpu-operator-<tag>.yaml
    .venv/bin/python -m maint.regenerate_cluster_schema   the catalog's lists in schemas/cluster.schema.json
    .venv/bin/python -m maint.write_schema_lock           generator/sources/lock.yaml

tests/maint fails when the committed files are stale.
"""
