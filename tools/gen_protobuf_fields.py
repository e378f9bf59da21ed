"""Generate ``kubenb/apiserver/protobuf_fields.json`` from the Kubernetes API sources.

Why this exists: kubectl's typed clients send built-in objects as
``application/vnd.kubernetes.protobuf`` and nothing else, so the embedded apiserver must read
that wire format. Protobuf bytes carry only field numbers; turning them into the JSON form of an
object needs, for every message, the facts that live in the Go API types: which number is which
JSON name, the wire kind, what a nested message is, whether the Go field is a pointer (a pointer
keeps its zero value in JSON, a plain field with ``omitempty`` drops it), ``omitempty`` /
``omitzero``, and which embedded structs are inlined. This script collects those facts once, by
hand (it is not run in CI), into a small deterministic data file that
``kubenb/apiserver/protobuf.py`` loads.

Sources, read from bare git mirrors with ``git show`` (no work tree needed):

* ``generated.proto`` of every package: message names, field numbers, proto types, ``repeated``
  and ``map<K, V>`` (gogo generated these from the Go types, with named types such as
  ``ResourceList`` or ``Protocol`` already resolved to their wire types).
* the package's Go files: the struct tags (``json:"name,omitempty"``,
  ``protobuf:"varint,4,opt,name=replicas"``), pointer-ness and embedding of each field, matched
  to the proto field by number.
* ``register.go``: which kinds each group-version registers (``addKnownTypes``), so a
  ``runtime.Unknown`` envelope's ``apiVersion``/``kind`` can be mapped to a message.

Output layout (JSON, one message per line so diffs stay readable)::

    {"source": {...mirror commits...},
     "kinds": {"apps/v1": {"Deployment": "k8s.io.api.apps.v1.Deployment", ...}, ...},
     "any_version_kinds": {"DeleteOptions": "k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions"},
     "messages": {"<proto message>": [[number, json_name, kind, ref, flags], ...], ...}}

``kind`` is a proto scalar type (``string``, ``bytes``, ``bool``, ``int32``, ``int64``,
``uint32``, ``uint64``, ``double``, ``float``), ``message`` (``ref`` is the message name) or
``map`` (``ref`` is ``[key kind, value kind or message name]``). ``flags`` is a string of letters:
``r`` repeated, ``p`` Go pointer, ``o`` omitempty, ``z`` omitzero, ``i`` embedded and inlined
into its parent's JSON (``json_name`` is then empty), ``x`` on the wire but not in Go's JSON
(``json:"-"`` or untagged: only types with hand-written JSON forms have such fields). Fields
are listed in Go declaration order, which is the order Go's JSON encoder prints them in. A
message with no Go struct behind it (a named slice such as ``metav1.Verbs``) is listed with a
single field flagged ``l``: its JSON form is that field's list.

Usage::

    python tools/gen_protobuf_fields.py [--mirrors DIR] [--ref v0.37.0-beta.0] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

#: (mirror name, package directory in that repository, Go import path).
PACKAGES: tuple[tuple[str, str, str], ...] = (
    ("kubernetes+apimachinery", "pkg/apis/meta/v1", "k8s.io/apimachinery/pkg/apis/meta/v1"),
    ("kubernetes+apimachinery", "pkg/api/resource", "k8s.io/apimachinery/pkg/api/resource"),
    ("kubernetes+apimachinery", "pkg/util/intstr", "k8s.io/apimachinery/pkg/util/intstr"),
    ("kubernetes+apimachinery", "pkg/runtime", "k8s.io/apimachinery/pkg/runtime"),
    ("kubernetes+apimachinery", "pkg/runtime/schema", "k8s.io/apimachinery/pkg/runtime/schema"),
    *(
        ("kubernetes+api", gv, f"k8s.io/api/{gv}")
        for gv in (
            "core/v1",
            "apps/v1",
            "batch/v1",
            "autoscaling/v1",
            "autoscaling/v2",
            "coordination/v1",
            "discovery/v1",
            "events/v1",
            "networking/v1",
            "policy/v1",
            "rbac/v1",
            "scheduling/v1",
            "storage/v1",
            # Not served as resources, but kubectl posts them with typed clients:
            # `auth can-i` / `auth whoami` / `create token`, and they are cheap to carry.
            "authentication/v1",
            "authorization/v1",
            "admissionregistration/v1",
            "certificates/v1",
            "node/v1",
            "flowcontrol/v1",
        )
    ),
    (
        "kubernetes+apiextensions-apiserver",
        "pkg/apis/apiextensions/v1",
        "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1",
    ),
)

#: Kinds metav1.AddToGroupVersion registers in every group-version
#: (apimachinery pkg/apis/meta/v1/register.go), plus Status, which is registered unversioned.
ANY_VERSION_KINDS: tuple[str, ...] = (
    "CreateOptions",
    "DeleteOptions",
    "GetOptions",
    "ListOptions",
    "PatchOptions",
    "Status",
    "UpdateOptions",
    "WatchEvent",
)

#: The newest 1.37 tag the mirrors carry; k8s.io/api at this tag is what kubectl 1.37 speaks.
DEFAULT_REF = "v0.37.0-beta.0"

META_PROTO = "k8s.io.apimachinery.pkg.apis.meta.v1"

_SCALARS = frozenset(
    {"string", "bytes", "bool", "int32", "int64", "uint32", "uint64", "double", "float"}
)


class GenError(RuntimeError):
    """The sources did not look as this script expects."""


@dataclass
class ProtoField:
    number: int
    name: str
    label: str  # optional | repeated | map
    type: str  # scalar or fully qualified message name (map: value type)
    key: str = ""  # map key type


@dataclass
class ProtoMessage:
    name: str  # fully qualified
    fields: dict[int, ProtoField] = field(default_factory=dict)


@dataclass
class GoField:
    go_type: str
    embedded: bool
    json_name: str
    json_opts: frozenset[str]
    proto_number: int
    proto_name: str


@dataclass
class Package:
    mirror: str
    path: str
    import_path: str
    proto_package: str = ""
    group: str | None = None
    version: str = ""
    messages: dict[str, ProtoMessage] = field(default_factory=dict)
    structs: dict[str, list[GoField]] = field(default_factory=dict)
    defined: dict[str, tuple[str, str]] = field(default_factory=dict)  # type X pkg.Y
    known_kinds: list[tuple[str, str]] = field(default_factory=list)  # (go pkg alias, name)
    imports: dict[str, str] = field(default_factory=dict)


class Mirror:
    """Read files from a bare git mirror at one ref."""

    def __init__(self, git_dir: Path, ref: str) -> None:
        self.git_dir = git_dir
        self.commit = self._git("rev-parse", f"{ref}^{{commit}}").strip()

    def _git(self, *args: str) -> str:
        proc = subprocess.run(
            ["git", f"--git-dir={self.git_dir}", *args],
            check=True,
            capture_output=True,
            text=True,
        )
        return proc.stdout

    def ls(self, directory: str) -> list[str]:
        out = self._git("ls-tree", "--name-only", self.commit, f"{directory}/")
        return sorted(line for line in out.splitlines() if line)

    def show(self, path: str) -> str:
        return self._git("show", f"{self.commit}:{path}")


# --- generated.proto ----------------------------------------------------------------------

_PROTO_COMMENT = re.compile(r"//[^\n]*")
_PROTO_PACKAGE = re.compile(r"^package\s+([\w.]+)\s*;", re.M)
_PROTO_MESSAGE = re.compile(r"^message\s+(\w+)\s*\{(.*?)^\}", re.M | re.S)
_PROTO_FIELD = re.compile(r"^\s*(optional|repeated|required)\s+([\w.]+)\s+(\w+)\s*=\s*(\d+)\s*;")
_PROTO_MAP = re.compile(r"^\s*map<\s*([\w.]+)\s*,\s*([\w.]+)\s*>\s+(\w+)\s*=\s*(\d+)\s*;")


def _qualify(type_name: str, package: str) -> str:
    if type_name in _SCALARS:
        return type_name
    if type_name.startswith("."):
        return type_name[1:]
    return f"{package}.{type_name}"


def parse_proto(text: str) -> tuple[str, dict[str, ProtoMessage]]:
    """Messages of one generated.proto, keyed by fully qualified name."""
    text = _PROTO_COMMENT.sub("", text)
    m = _PROTO_PACKAGE.search(text)
    if not m:
        raise GenError("generated.proto without a package line")
    package = m.group(1)
    messages: dict[str, ProtoMessage] = {}
    for mm in _PROTO_MESSAGE.finditer(text):
        msg = ProtoMessage(f"{package}.{mm.group(1)}")
        for line in mm.group(2).splitlines():
            if not line.strip():
                continue
            f = _PROTO_FIELD.match(line)
            if f:
                label, ptype, name, num = f.groups()
                pf = ProtoField(int(num), name, label, _qualify(ptype, package))
            else:
                mp = _PROTO_MAP.match(line)
                if not mp:
                    raise GenError(f"{msg.name}: cannot parse proto line {line.strip()!r}")
                ktype, vtype, name, num = mp.groups()
                pf = ProtoField(int(num), name, "map", _qualify(vtype, package), ktype)
            msg.fields[pf.number] = pf
        messages[msg.name] = msg
    return package, messages


# --- Go sources ---------------------------------------------------------------------------

_GO_IMPORT_BLOCK = re.compile(r"^import\s*\((.*?)^\)", re.M | re.S)
_GO_IMPORT_LINE = re.compile(r'^\s*(?:(\w+)\s+)?"([^"]+)"')
_GO_IMPORT_SINGLE = re.compile(r'^import\s+(?:(\w+)\s+)?"([^"]+)"', re.M)
_GO_STRUCT = re.compile(r"^type\s+(\w+)\s+struct\s*\{(\}|.*?^\})", re.M | re.S)
_GO_FIELD = re.compile(r"^\s*(?:(\w+)\s+)?([*\[\]\w.]+)\s+`([^`]*)`")
_GO_DEFINED = re.compile(r"^type\s+(\w+)\s+(?:(\w+)\.)?([A-Z]\w*)\s*$", re.M)
_GO_TAG = re.compile(r'(\w+):"([^"]*)"')
_GO_GROUP_NAME = re.compile(r'^const\s+GroupName\s*=\s*"([^"]*)"', re.M)
_GO_VERSION = re.compile(r'SchemeGroupVersion\s*=\s*schema\.GroupVersion\{[^}]*Version:\s*"(\w+)"')
_GO_ADD_KNOWN = re.compile(r"AddKnownTypes\(\s*SchemeGroupVersion\s*,(.*?)\)", re.S)
_GO_KNOWN_TYPE = re.compile(r"&(?:(\w+)\.)?(\w+)\{\}")


def parse_imports(text: str) -> dict[str, str]:
    """Import alias -> import path (the alias defaults to the path's last element)."""
    lines: list[str] = []
    for block in _GO_IMPORT_BLOCK.finditer(text):
        lines.extend(block.group(1).splitlines())
    lines.extend(m.group(0)[len("import") :] for m in _GO_IMPORT_SINGLE.finditer(text))
    imports: dict[str, str] = {}
    for line in lines:
        m = _GO_IMPORT_LINE.match(line)
        if m:
            alias, path = m.groups()
            imports[alias or path.rsplit("/", 1)[-1]] = path
    return imports


def parse_go_structs(text: str) -> dict[str, list[GoField]]:
    """Struct name -> fields that carry a protobuf tag, in declaration order."""
    structs: dict[str, list[GoField]] = {}
    for sm in _GO_STRUCT.finditer(text):
        fields: list[GoField] = []
        for raw in sm.group(2).splitlines():
            line = raw.split("//", 1)[0] if raw.lstrip().startswith("//") else raw
            m = _GO_FIELD.match(line)
            if not m:
                continue
            name, go_type, tag_text = m.groups()
            tags = dict(_GO_TAG.findall(tag_text))
            proto = tags.get("protobuf", "")
            if not proto or proto == "-":
                continue
            parts = proto.split(",")
            numbers = [p for p in parts if p.isdigit()]
            names = [p[len("name=") :] for p in parts if p.startswith("name=")]
            if not numbers:
                raise GenError(f"{sm.group(1)}: odd protobuf tag {proto!r}")
            json_tag = tags.get("json", "")
            json_parts = json_tag.split(",")
            json_name = json_parts[0]
            if json_name == "-":
                continue
            embedded = name is None
            if not json_name and not embedded:
                json_name = name or ""  # Go's default key is the field name
            fields.append(
                GoField(
                    go_type=go_type,
                    embedded=embedded,
                    json_name=json_name,
                    json_opts=frozenset(json_parts[1:]),
                    proto_number=int(numbers[0]),
                    proto_name=names[0] if names else "",
                )
            )
        structs[sm.group(1)] = fields
    return structs


def load_package(mirror: Mirror, pkg: Package) -> None:
    """Fill a package's proto messages, Go structs and registered kinds."""
    pkg.proto_package, pkg.messages = parse_proto(mirror.show(f"{pkg.path}/generated.proto"))
    for path in mirror.ls(pkg.path):
        base = path.rsplit("/", 1)[-1]
        if (
            not base.endswith(".go")
            or base.endswith("_test.go")
            or base.startswith(("zz_generated", "generated.pb"))
            or base == "types_swagger_doc_generated.go"
        ):
            continue
        text = mirror.show(path)
        for alias, ipath in parse_imports(text).items():
            pkg.imports.setdefault(alias, ipath)
        for name, fields in parse_go_structs(text).items():
            # Build-tag variants (metav1.FieldsV1 has a []byte and a string form) must agree
            # on the wire; either serves.
            if name in pkg.structs and [
                (f.proto_number, f.json_name) for f in pkg.structs[name]
            ] != [(f.proto_number, f.json_name) for f in fields]:
                raise GenError(f"{pkg.path}: struct {name} declared twice, differently")
            pkg.structs.setdefault(name, fields)
        for dm in _GO_DEFINED.finditer(text):
            pkg.defined[dm.group(1)] = (dm.group(2) or "", dm.group(3))
        if base == "register.go":
            gm = _GO_GROUP_NAME.search(text)
            vm = _GO_VERSION.search(text)
            if gm and vm:
                pkg.group, pkg.version = gm.group(1), vm.group(1)
            for block in _GO_ADD_KNOWN.finditer(text):
                for km in _GO_KNOWN_TYPE.finditer(block.group(1)):
                    pkg.known_kinds.append((km.group(1) or "", km.group(2)))


# --- joining the two views ----------------------------------------------------------------


def _field_entry(msg: ProtoMessage, gf: GoField | None, pf: ProtoField) -> list[object]:
    if pf.label == "map":
        kind, ref = "map", [pf.key, pf.type]
    elif pf.type in _SCALARS:
        kind, ref = pf.type, ""
    else:
        kind, ref = "message", pf.type
    flags = ""
    if pf.label == "repeated":
        flags += "r"
    if gf is None:
        return [pf.number, pf.name, kind, ref, flags]
    if gf.proto_name and gf.proto_name != pf.name:
        raise GenError(f"{msg.name}.{pf.number}: Go says {gf.proto_name}, proto {pf.name}")
    if gf.go_type.startswith("*"):
        flags += "p"
    if "omitempty" in gf.json_opts:
        flags += "o"
    if "omitzero" in gf.json_opts:
        flags += "z"
    json_name = gf.json_name
    if gf.embedded and not json_name:
        if kind == "message":
            flags += "i"
        else:
            # An embedded scalar (metav1.Duration embeds time.Duration): only special types
            # do this, and their JSON form is hand-written, so the name is informative only.
            json_name = pf.name
    return [pf.number, json_name, kind, ref, flags]


#: Proto package prefix -> (mirror, Go import path prefix).
_PROTO_ROOTS: tuple[tuple[str, str, str], ...] = (
    ("k8s.io.api.", "kubernetes+api", "k8s.io/api/"),
    ("k8s.io.apimachinery.", "kubernetes+apimachinery", "k8s.io/apimachinery/"),
    (
        "k8s.io.apiextensions_apiserver.",
        "kubernetes+apiextensions-apiserver",
        "k8s.io/apiextensions-apiserver/",
    ),
)


def _locate(proto_package: str) -> tuple[str, str, str]:
    """(mirror, directory, import path) of a proto package such as k8s.io.api.core.v1."""
    for prefix, mirror_name, import_prefix in _PROTO_ROOTS:
        if proto_package.startswith(prefix):
            rest = proto_package[len(prefix) :].replace(".", "/")
            return mirror_name, rest, import_prefix + rest
    raise GenError(f"no mirror known for proto package {proto_package}")


def build(mirrors_root: Path, ref: str) -> dict[str, object]:
    """Read every package and return the data file's content."""
    mirrors: dict[str, Mirror] = {}
    packages: list[Package] = []

    def add(mirror_name: str, path: str, import_path: str) -> None:
        if mirror_name not in mirrors:
            mirrors[mirror_name] = Mirror(mirrors_root / mirror_name / "repo", ref)
        pkg = Package(mirror_name, path, import_path)
        load_package(mirrors[mirror_name], pkg)
        packages.append(pkg)

    for spec in PACKAGES:
        add(*spec)
    # Served types may reference messages of packages not listed (an alpha field of core/v1
    # pointing into scheduling/v1alpha3, say); pull those packages in until nothing dangles.
    while True:
        loaded = {p.proto_package for p in packages}
        wanted = sorted(
            {
                pf.type.rsplit(".", 1)[0]
                for p in packages
                for msg in p.messages.values()
                for pf in msg.fields.values()
                if pf.type not in _SCALARS
            }
            - loaded
        )
        if not wanted:
            break
        for proto_package in wanted:
            add(*_locate(proto_package))
    by_import = {p.import_path: p for p in packages}

    messages: dict[str, list[list[object]]] = {}
    for pkg in packages:
        for name, msg in sorted(pkg.messages.items()):
            short = name[len(pkg.proto_package) + 1 :]
            go_fields = pkg.structs.get(short)
            if go_fields is None and short in pkg.defined:
                # `type List metav1.List`: same fields as the struct it is defined from.
                alias, target = pkg.defined[short]
                owner = by_import[pkg.imports[alias]] if alias else pkg
                go_fields = owner.structs.get(target)
            if go_fields is None:
                # A named non-struct Go type with a hand-written proto form (metav1.Verbs is
                # `[]string` on the Go side, `message Verbs { repeated string items = 1; }` on
                # the wire): its JSON is the list itself.
                if len(msg.fields) != 1:
                    raise GenError(f"{name}: no Go struct and not a one-field wrapper")
                (pf,) = msg.fields.values()
                entry = _field_entry(msg, None, pf)
                entry[4] = str(entry[4]) + "l"
                messages[name] = [entry]
                continue
            by_number = {gf.proto_number: gf for gf in go_fields}
            entries: list[list[object]] = []
            for gf in go_fields:
                pf = msg.fields.get(gf.proto_number)
                if pf is None:
                    raise GenError(f"{name}: Go field {gf.proto_name} missing from the proto")
                entries.append(_field_entry(msg, gf, pf))
            # Special types (Time, Quantity, RawExtension, ...) have hand-written Go structs
            # whose wire fields are untagged or `json:"-"`; keep them so they can be read,
            # flagged as not printed by Go's JSON encoder.
            for number, pf in sorted(msg.fields.items()):
                if number not in by_number:
                    entry = _field_entry(msg, None, pf)
                    entry[4] = str(entry[4]) + "x"
                    entries.append(entry)
            messages[name] = entries

    missing = {
        str(ref)
        for entries in messages.values()
        for e in entries
        for ref in ([e[3]] if e[2] == "message" else e[3][1:] if e[2] == "map" else [])
        if ref not in _SCALARS and ref not in messages
    }
    if missing:
        raise GenError(f"messages referenced but not generated: {sorted(missing)}")

    kinds: dict[str, dict[str, str]] = {}
    for pkg in packages:
        if pkg.group is None or not pkg.known_kinds:
            continue
        api_version = f"{pkg.group}/{pkg.version}" if pkg.group else pkg.version
        table = kinds.setdefault(api_version, {})
        for alias, kind in pkg.known_kinds:
            owner = by_import.get(pkg.imports[alias]) if alias else pkg
            if owner is None:
                raise GenError(f"{pkg.path}: kind {alias}.{kind} from an unread package")
            message = f"{owner.proto_package}.{kind}"
            if message in messages:
                table[kind] = message
    any_version = {k: f"{META_PROTO}.{k}" for k in ANY_VERSION_KINDS}
    for message in any_version.values():
        if message not in messages:
            raise GenError(f"{message} not generated")

    return {
        "source": {name: m.commit for name, m in sorted(mirrors.items())},
        "kinds": {gv: dict(sorted(t.items())) for gv, t in sorted(kinds.items())},
        "any_version_kinds": any_version,
        "messages": dict(sorted(messages.items())),
    }


def render(data: dict[str, object]) -> str:
    """Deterministic, diff-friendly JSON: one message or group-version per line."""

    def dumps(value: object) -> str:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    lines = ["{"]
    sections = list(data.items())
    for si, (key, value) in enumerate(sections):
        tail = "," if si < len(sections) - 1 else ""
        if key in ("kinds", "messages") and isinstance(value, dict):
            lines.append(f"{dumps(key)}:{{")
            items = list(value.items())
            for ii, (k, v) in enumerate(items):
                comma = "," if ii < len(items) - 1 else ""
                lines.append(f"{dumps(k)}:{dumps(v)}{comma}")
            lines.append("}" + tail)
        else:
            lines.append(f"{dumps(key)}:{dumps(value)}{tail}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    parser.add_argument(
        "--ref", default=DEFAULT_REF, help="git ref to read in every mirror (default: %(default)s)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent.parent
        / "kubenb"
        / "apiserver"
        / "protobuf_fields.json",
    )
    args = parser.parse_args(argv)
    data = build(args.mirrors, args.ref)
    text = render(data)
    json.loads(text)  # the hand-rolled layout must still be JSON
    args.out.write_text(text, encoding="utf-8")
    n = len(data["messages"])  # type: ignore[arg-type]
    print(f"wrote {args.out} ({n} messages, {len(text)} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
