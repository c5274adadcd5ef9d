"""What gen knows of each release's ``network-operator`` Helm chart without the chart itself: its values keys and
defaults, the Kubernetes types of its free-form values, retired and inert keys, the objects and hooks it renders,
its CRDs and images, and the values that add or remove objects. Data in ``charts/<tag>.yaml`` (derived by the
maintainer tool ``maint/derive_chart_facts.py`` from ../shared); this module only reads it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.core.suggest import did_you_mean
from generator.yamlio import cached as cached_yaml

DATA_DIR = Path(__file__).resolve().parent / "charts"


@dataclass(frozen=True)
class Hook:
    phases: tuple[str, ...]  # helm.sh/hook
    weight: int
    delete_policy: tuple[str, ...]
    argocd: tuple[str, ...]  # the Argo CD phases Argo CD maps them to


@dataclass(frozen=True)
class ChartObject:
    api_version: str
    kind: str
    name: str
    namespaced: bool
    hook: Hook | None = None

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]


@dataclass(frozen=True)
class ChartCrd:
    group: str
    kind: str
    scope: str  # Namespaced | Cluster
    versions: tuple[str, ...]
    name: str = ""  # <plural>.<group>


@dataclass(frozen=True)
class ChartImage:
    ref: str
    staging: bool
    rendered: bool  # False: only when a toggle (``enabled_by``) is on
    keys: dict[str, str]  # repository / image / tag (or ref) -> the values key that sets it
    enabled_by: str = ""
    used_by: tuple[str, ...] = ()  # Kind/name:container/<name> or Kind/name:env/<NAME> of the default render

    def values_for(self, ref: str) -> dict[str, str]:
        """The values (dotted key -> value) that make the chart render ``ref`` for this image: the inverse of
        ``ChartFacts.image_ref``. The templates build ``repository/image:tag``, so a digest rides on the tag
        (``tag@sha256:...``, a reference with both, which the runtime pulls by the digest)."""
        if "ref" in self.keys:
            return {self.keys["ref"]: ref}
        rest, at, digest = ref.partition("@")
        slash, colon = rest.rfind("/"), rest.rfind(":")
        name, tag = (rest[:colon], rest[colon + 1:]) if colon > slash else (rest, "")
        out: dict[str, str] = {}
        if "image" in self.keys:
            repository, _, short = name.rpartition("/")
            out[self.keys["repository"]], out[self.keys["image"]] = repository, short
        else:  # the repository key holds the whole name
            out[self.keys["repository"]] = name
        if "tag" in self.keys:
            out[self.keys["tag"]] = tag + at + digest
        return out

    @property
    def users(self) -> set[tuple[str, str]]:
        """(kind, name) of the objects of the default render that use it."""
        users = set()
        for use in self.used_by:
            kind, _, name = use.split(":", 1)[0].partition("/")
            users.add((kind, name))
        return users


@dataclass(frozen=True)
class Toggle:
    key: str
    exists: bool  # False: the chart has no such value; its objects render unconditionally
    default: Any
    objects: tuple[ChartObject, ...]  # rendered while the value is truthy
    objects_when_off: tuple[ChartObject, ...]


@dataclass(frozen=True)
class ChartPrivileges:
    """What the release's chart renders by default may do (``privileges`` in the facts): the privileges of each
    workload (``Kind/name`` -> ``generator.core.privileges`` names), every ClusterRole's rules and every
    ClusterRoleBinding's role (``ClusterRole/name``) and subjects (``Kind/namespace/name``), in the namespace the
    facts were rendered in (``render_namespace``)."""

    workloads: dict[str, frozenset[str]]
    cluster_roles: dict[str, tuple[dict[str, list[str]], ...]]
    cluster_role_bindings: dict[str, tuple[str, tuple[str, ...]]]
    render_namespace: str


@dataclass(frozen=True)
class KeyVerdict:
    ok: bool
    message: str = ""  # why not, with the fix


@dataclass(frozen=True)
class ChartFacts:
    tag: str
    version: str
    values: dict[str, Any]  # dotted key -> default (free-form keys hold their whole value)
    extra_keys: frozenset[str]  # keys the templates read that the defaults do not set
    free_form: dict[str, str]  # dotted key -> Kubernetes type of its content
    inert: dict[str, str]  # key -> why setting it changes nothing
    retired: dict[str, dict[str, str]]  # key -> {since, why, use}
    objects: tuple[ChartObject, ...]  # the default render (CRDs aside)
    crds: tuple[ChartCrd, ...]
    images: tuple[ChartImage, ...]
    toggles: dict[str, Toggle]
    schema_needs_network: bool  # a subchart's values.schema.json $refs a web URL: helm needs the network
    privileges: ChartPrivileges
    name: str = "network-operator"  # the chart (the GPU Operator's facts: generator.catalog.gpu)

    # -- values keys --------------------------------------------------------------------------------------------

    @functools.cached_property
    def _known(self) -> frozenset[str]:
        return frozenset(self.values) | self.extra_keys

    @functools.cached_property
    def _parents(self) -> frozenset[str]:
        return frozenset(key.rsplit(".", n)[0] for key in self._known for n in range(1, key.count(".") + 1))

    def free_form_type(self, key: str) -> str | None:
        return self.free_form.get(key)

    def is_parent(self, key: str) -> bool:
        """A key whose value is a map of further known keys (``operator``, ``node-feature-discovery.worker``)."""
        return key in self._parents

    def verdict(self, key: str) -> KeyVerdict:
        """Whether ``key`` (dotted) is a values key this release's chart reads; if not, why and what to use."""
        if key in self._known or key in self.free_form or self.is_parent(key):
            return KeyVerdict(True)
        for retired, info in self.retired.items():
            if key == retired or key.startswith(retired + "."):
                use = f"; {info['use']}" if info.get("use") else ""
                since, why = info.get("since", "an earlier release"), info.get("why", "retired")
                return KeyVerdict(False, f"the chart {self.version} ignores it: '{retired}' was removed in {since} "
                                         f"({why}){use}")
        if key in self.inert:
            return KeyVerdict(False, f"the chart {self.version} ignores it: {self.inert[key]}")
        hint = did_you_mean(key, self._known | self._parents)
        return KeyVerdict(False, f"not a value of the {self.name} chart {self.version}{hint}")

    # -- what renders ---------------------------------------------------------------------------------------------

    def rendered_objects(self, values: dict[str, Any]) -> list[ChartObject]:
        """The objects the chart renders with ``values`` (nested, as Helm takes them), from the default render and
        the toggles the values flip."""
        out = list(self.objects)
        for toggle in self.toggles.values():
            if not toggle.exists:
                continue
            on = bool(lookup(values, toggle.key, toggle.default))
            if on == bool(toggle.default):
                continue
            gone = toggle.objects_when_off if on else toggle.objects
            came = toggle.objects if on else toggle.objects_when_off
            out = [o for o in out if o not in gone] + [o for o in came if o not in out]
        return out

    def rendered_images(self, values: dict[str, Any]) -> list[ChartImage]:
        """The images the chart renders with ``values``: the default render's while an object that uses them still
        renders (``nfd.enabled: false`` drops NFD's image), and those of a subchart or feature the values turn on."""
        objects = {(o.kind, o.name) for o in self.rendered_objects(values)}
        out = []
        for image in self.images:
            if image.rendered:
                if not image.users or image.users & objects:
                    out.append(image)
            elif image.enabled_by and lookup(values, image.enabled_by, False):
                out.append(image)
        return out

    def image_ref(self, image: ChartImage, values: dict[str, Any]) -> str:
        """The reference the chart renders for ``image`` with ``values``."""
        if "ref" in image.keys:
            return str(lookup(values, image.keys["ref"], image.ref))
        repository, _, rest = image.ref.rpartition("/")
        name, _, tag = rest.partition(":")
        if "image" not in image.keys:  # the repository key holds the whole path
            repository, name = image.ref.rpartition(":")[0], ""
        repository = str(lookup(values, image.keys.get("repository", ""), repository))
        name = str(lookup(values, image.keys.get("image", ""), name))
        tag = str(lookup(values, image.keys.get("tag", ""), tag) or tag)  # an empty tag: the chart's appVersion
        return f"{repository}/{name}:{tag}" if name else f"{repository}:{tag}"

    def images_with(self, values: dict[str, Any]) -> list[str]:
        """The image references the rendered objects use with ``values``."""
        return sorted({self.image_ref(image, values) for image in self.rendered_images(values)})


def lookup(values: dict[str, Any], dotted: str, default: Any = None) -> Any:
    """``values[a][b]`` for ``a.b``; ``default`` where any part is missing."""
    if not dotted:
        return default
    node: Any = values
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def _hook(raw: dict[str, Any] | None) -> Hook | None:
    if not raw:
        return None
    return Hook(tuple(raw.get("phases", ())), int(raw.get("weight", 0)), tuple(raw.get("deletePolicy", ())),
                tuple(raw.get("argocd", ())))


def _object(raw: dict[str, Any]) -> ChartObject:
    return ChartObject(raw["apiVersion"], raw["kind"], raw["name"], bool(raw["namespaced"]), _hook(raw.get("hook")))


@functools.cache
def chart_facts(tag: str) -> ChartFacts:
    """The network-operator chart's facts of a release."""
    return facts_from(cached_yaml.load((DATA_DIR / f"{tag}.yaml").read_text("utf-8")), tag)


def facts_from(raw: dict[str, Any], tag: str) -> ChartFacts:
    """Chart facts from the data of one ``charts/*.yaml`` file."""
    toggles = {
        key: Toggle(key, bool(t.get("exists", True)), t.get("default"),
                    tuple(_object(o) for o in t.get("objects") or ()),
                    tuple(_object(o) for o in t.get("objectsWhenOff") or ()))
        for key, t in (raw.get("toggles") or {}).items()
    }
    return ChartFacts(
        tag=tag,
        version=str(raw["chart"]["version"]),
        values=dict(raw["values"]),
        extra_keys=frozenset(raw.get("extraKeys") or ()),
        free_form=dict(raw.get("freeForm") or {}),
        inert={key: str(v.get("why", "")) for key, v in (raw.get("inert") or {}).items()},
        retired={key: {k: str(x) for k, x in v.items()} for key, v in (raw.get("retired") or {}).items()},
        objects=tuple(_object(o) for o in raw["objects"]),
        crds=tuple(ChartCrd(c["group"], c["kind"], c["scope"], tuple(c["versions"]), str(c.get("name", "")))
                   for c in raw["crds"]),
        images=tuple(ChartImage(i["ref"], bool(i["staging"]), bool(i["rendered"]), dict(i["keys"]),
                                str(i.get("enabledBy", "")), tuple(i.get("usedBy") or ())) for i in raw["images"]),
        toggles=toggles,
        schema_needs_network=any(s.get("schemaNeedsNetwork") for s in (raw.get("subcharts") or {}).values()),
        privileges=_privileges(raw.get("privileges") or {}, str(raw["rendered"]["namespace"])),
        name=str(raw["chart"]["name"]),
    )


def _privileges(raw: dict[str, Any], namespace: str) -> ChartPrivileges:
    return ChartPrivileges(
        workloads={key: frozenset(names) for key, names in (raw.get("workloads") or {}).items()},
        cluster_roles={name: tuple(rules) for name, rules in (raw.get("clusterRoles") or {}).items()},
        cluster_role_bindings={name: (str(b["roleRef"]), tuple(b["subjects"]))
                               for name, b in (raw.get("clusterRoleBindings") or {}).items()},
        render_namespace=namespace,
    )
