"""Stage 2b: resolve ``extends`` — merge a policy with its ancestors into one declaration list.

A child inherits every declaration of its parent.  Re-declaring a name needs
``override`` (so a typo cannot silently shadow a rule), ``override`` of a name
the parent lacks is an error, and ``remove`` drops an inherited declaration.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from . import ast
from .builder import build_policy
from .errors import Diagnostic
from .parser import parse_tree
from .source import SourceFile

MAX_DEPTH = 16


@attrs.frozen
class LinkedPolicy:
    """A policy with its ancestry flattened: the child's header, every effective declaration."""

    header: ast.Header
    decls: tuple[ast.Decl, ...]
    lineage: tuple[str, ...]  # policy names, child first
    sources: tuple[SourceFile, ...]


def parse_source(source: SourceFile) -> ast.PolicyFile | Diagnostic:
    tree = parse_tree(source)
    if isinstance(tree, Diagnostic):
        return tree
    return build_policy(tree, source)


def link(source: SourceFile, base_dir: Path | None) -> LinkedPolicy | list[Diagnostic]:
    """Parse ``source`` and its ancestors and merge them."""
    return _link(source, base_dir, ())


def _link(source: SourceFile, base_dir: Path | None, seen: tuple[str, ...]) -> LinkedPolicy | list[Diagnostic]:
    parsed = parse_source(source)
    if isinstance(parsed, Diagnostic):
        return [parsed]
    header = parsed.header
    if header.extends is None:
        return _merge(parsed, None, source)
    parent_path = Path(header.extends)
    if not parent_path.is_absolute():
        parent_path = (base_dir or Path.cwd()) / parent_path
    key = str(parent_path.resolve())
    if key in seen or len(seen) >= MAX_DEPTH:
        return [Diagnostic("K150", f"policy extends itself through {header.extends!r}", header.span,
                           hint="remove the cycle of 'extends'")]
    try:
        text = parent_path.read_text(encoding="utf-8")
    except OSError as exc:
        return [Diagnostic("K151", f"cannot read extended policy {header.extends!r}: {exc.strerror or exc}",
                           header.span, hint="the path is relative to the extending file")]
    parent_source = SourceFile(str(parent_path), text)
    parent = _link(parent_source, parent_path.parent, seen + (key,))
    if isinstance(parent, list):
        return parent
    return _merge(parsed, parent, source)


def _merge(child: ast.PolicyFile, parent: LinkedPolicy | None, source: SourceFile) -> LinkedPolicy | list[Diagnostic]:
    diagnostics: list[Diagnostic] = []
    merged: dict[tuple[str, str], ast.Decl] = {}
    if parent is not None:
        for decl in parent.decls:
            merged[ast.decl_key(decl)] = decl
    inherited = set(merged)
    declared_here: set[tuple[str, str]] = set()
    for item in child.items:
        if isinstance(item, ast.Remove):
            key = (item.kind, item.name)
            if key not in merged or key not in inherited:
                diagnostics.append(Diagnostic("K152", f"cannot remove {item.kind} {item.name!r}: the parent policy has none",
                                              item.span, hint=_similar(item.name, [k[1] for k in inherited if k[0] == item.kind])))
            else:
                del merged[key]
            continue
        if isinstance(item, ast.Override):
            decl = item.decl
            key = ast.decl_key(decl)
            if key not in inherited:
                diagnostics.append(Diagnostic("K153", f"override of {key[0]} {key[1]!r}, which the parent policy does not declare",
                                              item.span, hint="drop 'override' to declare something new"
                                              if parent is not None else "this policy extends nothing; drop 'override'"))
                continue
            if isinstance(decl, ast.ParamDecl) and decl.type is None:
                old = merged[key]
                assert isinstance(old, ast.ParamDecl)
                decl = attrs.evolve(decl, type=old.type, label=decl.label or old.label,
                                    cite=decl.cite or old.cite, note=decl.note)
            merged[key] = decl
            declared_here.add(key)
            continue
        key = ast.decl_key(item)
        if key in inherited and key not in declared_here:
            diagnostics.append(Diagnostic("K154", f"{key[0]} {key[1]!r} is already declared by the parent policy",
                                          item.span, hint=f"write 'override {key[0]} ...' to replace it"))
        elif key in merged:
            # a duplicate within one file: keep both, the checker reports it with both places
            merged[(key[0], f"{key[1]}\0{len(merged)}")] = item
        else:
            merged[key] = item
            declared_here.add(key)
    if diagnostics:
        return diagnostics
    header = child.header
    lineage = (header.name,) + (parent.lineage if parent else ())
    sources = (source,) + (parent.sources if parent else ())
    return LinkedPolicy(header=header, decls=tuple(merged.values()), lineage=lineage, sources=sources)


def _similar(name: str, options: list[str]) -> str | None:
    import difflib

    match = difflib.get_close_matches(name, options, n=1, cutoff=0.5)
    return f"did you mean {match[0]!r}?" if match else None
