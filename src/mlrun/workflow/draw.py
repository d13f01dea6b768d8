"""Drawing a workflow's graph as text, Mermaid or Graphviz dot (`mlrun dag`)."""

from __future__ import annotations

from mlrun.workflow.graph import Graph, layers

FORMATS = ("text", "mermaid", "dot")


def draw(graph: Graph, fmt: str = "text") -> str:
    return {"text": _text, "mermaid": _mermaid, "dot": _dot}[fmt](graph)


def depths(graph: Graph) -> dict[str, int]:
    """Longest distance from a step that needs nothing (nodes are in topological order)."""
    return layers({name: node.needs for name, node in graph.nodes.items()})


def _text(graph: Graph) -> str:
    depth = depths(graph)
    labels = {name: "  " * depth[name] + name for name in graph.nodes}
    width = max(len(label) for label in labels.values())
    entries = {name: f"-e {node.step.entry_point}" for name, node in graph.nodes.items()}
    entry_width = max(len(e) for e in entries.values())
    lines = [f"workflow {graph.workflow.name} ({len(graph.nodes)} steps)"]
    for name, node in graph.nodes.items():
        needs = f"  <- {', '.join(node.needs)}" if node.needs else ""
        lines.append(
            f"{labels[name].ljust(width)}  {entries[name].ljust(entry_width)}{needs}".rstrip()
        )
    return "\n".join(lines)


def _mermaid(graph: Graph) -> str:
    ids = {name: f"n{i}" for i, name in enumerate(graph.nodes)}
    lines = ["flowchart TD"]
    for name in graph.nodes:
        label = name.replace('"', "#quot;")
        lines.append(f'  {ids[name]}["{label}"]')
    for name, node in graph.nodes.items():
        for need in node.needs:
            lines.append(f"  {ids[need]} --> {ids[name]}")
    return "\n".join(lines)


def _dot(graph: Graph) -> str:
    def q(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [f"digraph {q(graph.workflow.name)} {{", "  rankdir=LR;", "  node [shape=box];"]
    for name in graph.nodes:
        lines.append(f"  {q(name)};")
    for name, node in graph.nodes.items():
        for need in node.needs:
            lines.append(f"  {q(need)} -> {q(name)};")
    lines.append("}")
    return "\n".join(lines)
