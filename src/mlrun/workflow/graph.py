"""The step graph: matrix expansion, cycle detection, topological order, selections.

A step with a matrix becomes one node per combination, named `train[alpha=0.1]` (several
keys: `train[alpha=0.1,l1=0.5]`, in declaration order). A step that needs a matrix step
needs every one of its nodes."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mlrun.errors import UsageError
from mlrun.workflow.model import Step, Workflow


@dataclass(frozen=True)
class Node:
    name: str  # "train" or "train[alpha=0.1]"
    step: Step
    matrix: Mapping[str, str]  # this node's combination ({} without a matrix)
    needs: tuple[str, ...]  # node names


@dataclass
class Graph:
    workflow: Workflow
    nodes: dict[str, Node]  # in a topological order (declaration order breaks ties)
    instances: dict[str, list[str]]  # step name -> its node names

    def downstream(self, names: Iterable[str]) -> set[str]:
        """The nodes and everything that (transitively) needs them."""
        found = set(names)
        for name, node in self.nodes.items():  # topological: one pass is enough
            if any(n in found for n in node.needs):
                found.add(name)
        return found

    def upstream(self, names: Iterable[str]) -> set[str]:
        """The nodes and everything they (transitively) need."""
        found = set(names)
        for name in reversed(list(self.nodes)):
            if name in found:
                found.update(self.nodes[name].needs)
        return found

    def select(self, step_or_node: str) -> list[str]:
        """Node names for a step name (all its matrix nodes) or one node name."""
        if step_or_node in self.instances:
            return list(self.instances[step_or_node])
        if step_or_node in self.nodes:
            return [step_or_node]
        from mlrun.spec.context import did_you_mean

        known = list(self.instances)
        raise UsageError(
            f"workflow {self.workflow.name!r} has no step {step_or_node!r}"
            f"{did_you_mean(step_or_node, known)}",
            hint=f"steps: {', '.join(known)}",
        )


def layers(needs: Mapping[str, Iterable[str]]) -> dict[str, int]:
    """{node: its longest distance from a node that needs nothing}; `needs` lists the
    nodes in a topological order (needs of unknown nodes are ignored)."""
    depth: dict[str, int] = {}
    for name, wanted in needs.items():
        depth[name] = 1 + max((depth[n] for n in wanted if n in depth), default=-1)
    return depth


def node_name(step: str, combo: Mapping[str, str]) -> str:
    if not combo:
        return step
    return step + "[" + ",".join(f"{k}={v}" for k, v in combo.items()) + "]"


def combinations(matrix: Mapping[str, tuple[str, ...]]) -> list[dict[str, str]]:
    if not matrix:
        return [{}]
    keys = list(matrix)
    return [
        dict(zip(keys, values, strict=True))
        for values in itertools.product(*(matrix[k] for k in keys))
    ]


MAX_EDGES = 1_000_000  # "node X needs node Y" pairs: matrix steps needing matrix steps


def build(workflow: Workflow) -> Graph:
    order = _step_order(workflow)
    sizes = {
        name: math.prod(len(v) for v in workflow.steps[name].matrix.values()) for name in order
    }
    edges = sum(sizes[n] * sum(sizes[o] for o in workflow.steps[n].needs) for n in order)
    if edges > MAX_EDGES:
        raise workflow.error(
            f"workflow {workflow.name!r} has {edges:,} dependencies between runs (matrix "
            f"steps needing matrix steps); mlrun plans at most {MAX_EDGES:,}",
            workflow.line,
            hint="make the matrices smaller, or split the workflow",
        )
    instances = {
        name: [node_name(name, c) for c in combinations(workflow.steps[name].matrix)]
        for name in order
    }
    nodes: dict[str, Node] = {}
    for name in order:
        step = workflow.steps[name]
        needs = tuple(n for other in step.needs for n in instances[other])
        for combo in combinations(step.matrix):
            node = Node(node_name(name, combo), step, combo, needs)
            nodes[node.name] = node
    return Graph(workflow, nodes, instances)


def _step_order(workflow: Workflow) -> list[str]:
    """Steps in a topological order; a SpecError naming the steps of a cycle."""
    steps = workflow.steps
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    order: list[str] = []
    for start in steps:
        if state.get(start):
            continue
        # Iterative depth-first search, so a long chain cannot hit the recursion limit.
        path: list[str] = [start]
        iters = [iter(steps[start].needs)]
        state[start] = 1
        while path:
            nxt = next(iters[-1], None)
            if nxt is None:
                done = path.pop()
                iters.pop()
                state[done] = 2
                order.append(done)
            elif state.get(nxt) == 1:
                cycle = [*path[path.index(nxt) :], nxt]
                cycle.reverse()  # read in the direction the work flows
                raise workflow.error(
                    f"workflow {workflow.name!r} has a cycle: {' -> '.join(cycle)}",
                    steps[nxt].line,
                    hint="remove one of these needs (or references)",
                )
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                iters.append(iter(steps[nxt].needs))
    return order
