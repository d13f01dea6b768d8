"""YAML loading with line numbers, giving exactly what `yaml.safe_load` gives.

MLflow reads MLproject files with `yaml.safe_load` (YAML 1.1 rules: `1e-1` stays a string,
`.0` is a float, `yes` is True), so we must construct values with the same SafeConstructor
or defaults would differ. What safe_load throws away is *where* each key was written; we
keep it by walking the composed node tree before construction and recording the line of
every mapping key under its key path, e.g. ("entry_points", "main", "command") -> 12.

Limits, so that a hostile file costs neither minutes nor gigabytes: a file larger than
MAX_BYTES is not read, and a document whose aliases expand it to more than MAX_EXPANDED
values ("billion laughs": nine aliases of nine aliases of ...) is refused before
anything walks it. PyYAML itself shares aliased values, but the line tracking below,
and anything that later walks or serialises the data, would expand them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrun.errors import SpecError
from mlrun.spec.model import SpecWarning

if TYPE_CHECKING:
    import yaml

# Keys that are YAML machinery rather than data (`<<: *base`); flatten_mapping handles them.
_MERGE_TAGS = frozenset({"tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"})

KeyPath = tuple[Hashable, ...]

MAX_BYTES = 4 << 20
MAX_EXPANDED = 100_000  # values, counting each use of an alias as a copy


class YamlDoc:
    """A parsed document with the line of every key (a plain class: see spec/model.py)."""

    def __init__(
        self,
        data: Any,
        lines: dict[KeyPath, int] | None = None,
        warnings: list[SpecWarning] | None = None,
    ) -> None:
        self.data = data
        self.lines: dict[KeyPath, int] = lines if lines is not None else {}  # key path -> line
        self.warnings: list[SpecWarning] = warnings if warnings is not None else []

    def line(self, *path: Hashable) -> int | None:
        """Line of the key at `path`, else of its nearest recorded ancestor."""
        while path:
            found = self.lines.get(path)
            if found is not None:
                return found
            path = path[:-1]
        return None


def load_yaml_file(path: Path) -> YamlDoc:
    """`load_yaml` of a file, through the parse cache (spec/parsecache.py): a file that
    did not change since it was last parsed is not parsed again, and PyYAML (25 ms of
    start-up) is not even imported. SpecError when the file cannot be read."""
    from mlrun.spec import parsecache

    file = str(path)
    try:
        st = os.stat(path)
    except OSError as exc:
        raise SpecError(f"cannot read the file: {exc.strerror or exc}", file=file) from None
    _check_size(st.st_size, file)
    cached = parsecache.get(path, st)
    if cached is not None:
        data, lines, warnings = cached
        return YamlDoc(data, lines, [SpecWarning(*w) for w in warnings])
    try:
        with open(path, "rb") as fh:
            source = fh.read(MAX_BYTES + 1)  # bounded: the file may grow, or never end
    except OSError as exc:
        raise SpecError(f"cannot read the file: {exc.strerror or exc}", file=file) from None
    doc = load_yaml(source, file)
    parsecache.put(
        path, st, (doc.data, doc.lines, [(w.message, w.file, w.line, w.key) for w in doc.warnings])
    )
    return doc


def load_yaml(source: bytes | str, file: str | None = None) -> YamlDoc:
    """Parse one YAML document as safe_load would; SpecError (with line) if it cannot."""
    _check_size(len(source), file)
    import yaml

    # libyaml's parser is several times faster than the pure-Python one; the constructor
    # (and therefore every value) is the same SafeConstructor in both.
    loader_class: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = loader_class(source)
    doc = YamlDoc(data=None)
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_expansion(node, file)
            _walk(loader, node, (), doc, file, set())
            doc.data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "syntax error"
        raise SpecError(
            f"the file is not valid YAML: {_one_line(problem)}",
            file=file,
            line=mark.line + 1 if mark is not None else None,
        ) from None
    except yaml.reader.ReaderError as exc:
        # Bad bytes (not UTF-8/16, control characters): only a position is known.
        prefix = source[: exc.position]
        newlines = prefix.count(b"\n") if isinstance(prefix, bytes) else prefix.count("\n")
        raise SpecError(
            f"the file is not valid YAML text: {_one_line(exc.reason)}",
            file=file,
            line=newlines + 1,
        ) from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        # safe_load raises plain ValueError for impossible dates (`2020-13-45`) and may
        # recurse deeply on pathological nesting; neither should escape as a traceback.
        raise SpecError(
            f"the file could not be read as YAML: {_one_line(str(exc))}", file=file
        ) from None
    finally:
        loader.dispose()
    return doc


def _check_size(size: int, file: str | None) -> None:
    if size > MAX_BYTES:
        raise SpecError(
            f"the file is {size / (1 << 20):.1f} MiB; mlrun reads YAML files of up to "
            f"{MAX_BYTES >> 20} MiB",
            file=file,
        )


def _check_expansion(root: yaml.Node, file: str | None) -> None:
    """SpecError when aliases make the document more than MAX_EXPANDED values."""
    expanded, distinct = expanded_size(root, _node_children)
    if expanded > max(MAX_EXPANDED, distinct):
        raise SpecError(
            f"the file's aliases (*name) expand it to {expanded:,} values, more than the "
            f"{MAX_EXPANDED:,} mlrun reads (a YAML 'billion laughs'?)",
            hint="write the repeated parts out, or use fewer levels of aliases",
            file=file,
        )


def _node_children(node: Any) -> list[Any]:
    value = node.value
    if isinstance(value, list):
        return [part for item in value for part in (item if isinstance(item, tuple) else (item,))]
    return []


def expanded_size(root: Any, children: Callable[[Any], list[Any]]) -> tuple[int, int]:
    """(values counting every shared one once per use, distinct values) of a graph of
    values, such as the nodes of a composed document. A value that contains itself
    counts once where it recurs. Iterative: depth costs no stack."""
    sizes: dict[int, int] = {}
    open_ids: set[int] = set()
    stack: list[tuple[Any, list[Any] | None]] = [(root, None)]
    while stack:
        node, kids = stack.pop()
        key = id(node)
        if kids is not None:  # all its children are counted now
            open_ids.discard(key)
            total = 1
            for child in kids:
                total += sizes.get(id(child), 1)
            sizes[key] = total
            continue
        if key in sizes or key in open_ids:
            continue
        kids = children(node)
        if not kids:
            sizes[key] = 1
            continue
        open_ids.add(key)
        stack.append((node, kids))
        stack.extend((child, None) for child in kids if id(child) not in sizes)
    return sizes[id(root)], len(sizes)


def _walk(
    loader: yaml.SafeLoader,
    node: yaml.Node,
    path: KeyPath,
    doc: YamlDoc,
    file: str | None,
    active: set[int],
) -> None:
    # `active` holds the nodes on the current descent: an alias may point back at an
    # ancestor (`&a [*a]`), which would otherwise recurse forever.
    import yaml

    if id(node) in active:
        return
    active.add(id(node))
    try:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Hashable, int] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag in _MERGE_TAGS:
                    continue  # complex keys fail in the constructor; merges are flattened
                key = loader.construct_object(key_node)
                if not isinstance(key, Hashable):
                    continue
                line = key_node.start_mark.line + 1
                if key in seen:
                    doc.warnings.append(
                        SpecWarning(
                            f"duplicate key {key!r} (first on line {seen[key]}); the last one wins",
                            file=file,
                            line=line,
                            key=".".join(str(p) for p in (*path, key)),
                        )
                    )
                seen[key] = line
                doc.lines[(*path, key)] = line
                _walk(loader, value_node, (*path, key), doc, file, active)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                doc.lines.setdefault((*path, index), item.start_mark.line + 1)
                _walk(loader, item, (*path, index), doc, file, active)
    finally:
        active.discard(id(node))


def _one_line(text: str) -> str:
    return " ".join(str(text).split())
