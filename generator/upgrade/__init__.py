"""`gen upgrade`: move a cluster to a newer network-operator release one step at a time, each step checked."""
