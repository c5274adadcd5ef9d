"""Offline evaluation of CRD ``x-kubernetes-validations`` (CEL) rules, the way kube-apiserver evaluates them.

Semantics follow k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel and k8s.io/apiserver/pkg/cel (value
conversion, property escaping, library functions); the code is our own. One module per concern:

- ``validations``: the rules of a schema (``Rule``), what a failed rule says (``Failure``);
- ``values``: unstructured JSON -> the values CEL sees (escaped property names, defaults, numbers);
- ``library`` and ``named_formats``: the Kubernetes CEL libraries (quantity, lists, regex, url, ip, cidr, format);
- ``engine``: the CEL implementation (cel-expr-python, Google's cel-cpp) behind a small ``Engine`` protocol;
- ``validator``: ``CrdValidator``, the walk of an object (and its old version) along the schema;
- ``check``: the ``cel`` lint rule, with validators compiled once per CRD version per process.
"""
