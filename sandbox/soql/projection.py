"""Projection: turning a record into the JSON shape of a query row, parents nested."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sfsync.sandbox.record import Record
from sfsync.sandbox.schema import FieldDef

Resolver = Callable[[str, Any], Record | None]


def projector(
    paths: list[tuple[tuple[FieldDef, ...], FieldDef]], resolve: Resolver
) -> Callable[[Record], dict[str, Any]]:
    """A function from a record to its query-row JSON for the selected (hops, field) paths."""
    # Tree of output keys in select order: a str is a field, a tuple a parent relationship.
    Node = list[Any]

    def build(level: list[tuple[tuple[FieldDef, ...], FieldDef]]) -> Node:
        node: Node = []
        seen: dict[str, list[tuple[tuple[FieldDef, ...], FieldDef]]] = {}
        for hops, f in level:
            if not hops:
                if f.name not in node:
                    node.append(f.name)
                continue
            rel = str(hops[0].relationship)
            if rel not in seen:
                seen[rel] = []
                node.append((rel, hops[0].name, str(hops[0].target), seen[rel]))
            seen[rel].append((hops[1:], f))
        return [(e[0], e[1], e[2], build(e[3])) if isinstance(e, tuple) else e for e in node]

    tree = build(paths)
    flat = [e for e in tree if isinstance(e, str)]
    if len(flat) == len(tree):

        def project_flat(rec: Record) -> dict[str, Any]:
            w = rec.wire
            d: dict[str, Any] = {"attributes": rec.attributes}
            for name in flat:
                d[name] = w[name]
            return d

        return project_flat

    def project(rec: Record, node: Node) -> dict[str, Any]:
        w = rec.wire
        d: dict[str, Any] = {"attributes": rec.attributes}
        for e in node:
            if isinstance(e, str):
                d[e] = w[e]
            else:
                rel, fk, target, sub = e
                parent = resolve(target, rec.values[fk])
                d[rel] = None if parent is None else project(parent, sub)
        return d

    return lambda rec: project(rec, tree)
