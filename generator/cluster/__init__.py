"""Stage 1: cluster spec files (``clusters/<name>.yaml``) and the user's overlays -> validated ``Cluster`` models."""
