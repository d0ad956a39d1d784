"""Stage 2b: resolve ``extends`` — merge a policy with its ancestors into one declaration list.

A child inherits every declaration of its parent.  Re-declaring a name needs
``override`` (so a typo cannot silently shadow a rule), ``override`` of a name
the parent lacks is an error, and ``remove`` drops an inherited declaration.

Where ``extends`` may reach — a policy names the files it is built from, and an
auditor must be able to see them all at a glance, so ``extends`` reads only:

* a file whose name ends in ``.kh`` (before and after symlinks are resolved);
* inside the *policy tree*: the directory of the policy file given to
  :func:`kaohe_rules.load` and its subdirectories (for policy text, the current
  directory).  Symlinks are resolved first and the real file must lie in the tree;
* a regular file (no directory, device, pipe or socket) of at most
  ``limits.MAX_POLICY_BYTES``, in UTF-8, that begins like a policy (comments,
  then ``policy``).  A file that does not is refused by name, without a line of
  it in the diagnostic, so ``extends`` cannot be used to display other files.

A relative path is taken from the directory of the extending file (the real one,
after symlinks).
"""

from __future__ import annotations

import os
from pathlib import Path

import attrs

from ..errors import Diagnostic
from ..limits import MAX_POLICY_BYTES, shown
from ..source import (
    SourceFile,
    Span,
    UnreadablePolicy,
    display_name,
    displayable,
    first_surrogate,
    position,
    read_policy_file,
    starts_like_policy,
    without_bom,
)
from . import ast
from .builder import build_policy
from .parser import parse_tree

MAX_DEPTH = 16
POLICY_SUFFIX = ".kh"


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


def text_problem(source: SourceFile) -> Diagnostic | None:
    """A diagnostic when the text holds a surrogate code point (it is not Unicode text), else None.

    Checked before anything else reads the text: the parser, the cache keys and the
    content hash all need text that encodes as UTF-8.  The excerpt shows U+FFFD in
    the surrogate's place, so the diagnostic itself can always be printed.
    """
    index = first_surrogate(source.text)
    if index is None:
        return None
    line, column = position(source.text, index)
    shown_source = SourceFile(source.name, displayable(source.text))
    return Diagnostic(
        "K005", f"the policy is not valid Unicode text: it holds a lone surrogate U+{ord(source.text[index]):04X} "
        "(half of a UTF-16 pair), which no UTF-8 file can hold",
        Span(shown_source, line, column, line, column + 1),
        hint="the text was decoded wrongly (or built from escapes such as \\ud800); "
             "read the file as UTF-8 and write the character itself")


def link(source: SourceFile, base_dir: Path | None, *, root: Path | None = None) -> LinkedPolicy | list[Diagnostic]:
    """Parse ``source`` and its ancestors and merge them.

    ``base_dir`` is the directory of ``source`` (None: policy text, the current
    directory); ``root`` the policy tree ``extends`` may read from (default:
    ``base_dir``).  See the module docstring for the rules.
    """
    tree_root = root if root is not None else base_dir if base_dir is not None else Path.cwd()
    try:
        resolved_root = tree_root.resolve()
    except (OSError, RuntimeError, ValueError):
        resolved_root = Path(os.path.abspath(tree_root))
    return _link(source, base_dir, resolved_root, ())


def _link(source: SourceFile, base_dir: Path | None, root: Path,
          seen: tuple[str, ...]) -> LinkedPolicy | list[Diagnostic]:
    if source.text.startswith("\ufeff"):
        source = SourceFile(source.name, without_bom(source.text))
    problem = text_problem(source)
    if problem is not None:
        return [problem]
    parsed = parse_source(source)
    if isinstance(parsed, Diagnostic):
        return [parsed]
    header = parsed.header
    if header.extends is None:
        return _merge(parsed, None, source)
    found = _find_parent(header, base_dir, root)
    if isinstance(found, Diagnostic):
        return [found]
    parent_path, real = found
    key = str(real)
    if key in seen or len(seen) >= MAX_DEPTH:
        return [Diagnostic("K150", f"policy extends itself through {shown(header.extends)}", header.span,
                           hint="remove the cycle of 'extends'")]
    text = _read_parent(header, real)
    if isinstance(text, Diagnostic):
        return [text]
    parent_source = SourceFile(display_name(str(parent_path)), text)
    parent = _link(parent_source, real.parent, root, seen + (key,))
    if isinstance(parent, list):
        return parent
    return _merge(parsed, parent, source)


def _find_parent(header: ast.Header, base_dir: Path | None, root: Path) -> tuple[Path, Path] | Diagnostic:
    """The parent's path as written (joined to ``base_dir``) and its real path, or why ``extends`` may not go there."""
    written = header.extends or ""
    tree_hint = (f"extends reads only {POLICY_SUFFIX} files in the policy's own directory or below it ({display_name(str(root))}); "
                 "copy the parent policy there")
    if not written.lower().endswith(POLICY_SUFFIX):
        return Diagnostic("K155", f"extends {shown(written)}: a policy extends another policy file, whose name ends in "
                          f"'{POLICY_SUFFIX}'", header.span, hint=tree_hint)
    try:
        parent_path = Path(written)
        if not parent_path.is_absolute():
            parent_path = (base_dir or Path.cwd()) / parent_path
        real = parent_path.resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # a symlink loop, a NUL in the path
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "the path cannot be resolved"
        return Diagnostic("K151", f"cannot read extended policy {shown(written)}: {reason}", header.span,
                          hint="the path is relative to the extending file")
    if not real.is_relative_to(root):
        return Diagnostic("K155", f"extends {shown(written)} reaches outside the policy tree {str(root)!r}"
                          + ("" if real == parent_path else f" (it resolves to {str(real)!r})"),
                          header.span, hint=tree_hint)
    if not real.name.lower().endswith(POLICY_SUFFIX):
        return Diagnostic("K155", f"extends {shown(written)} resolves to {str(real)!r}, whose name does not end in "
                          f"'{POLICY_SUFFIX}'", header.span, hint=tree_hint)
    return parent_path, real


def _read_parent(header: ast.Header, real: Path) -> str | Diagnostic:
    """The parent's text, or a diagnostic that names the file and quotes none of it."""
    written = header.extends or ""
    try:
        text = without_bom(read_policy_file(real, MAX_POLICY_BYTES))
    except UnreadablePolicy as exc:
        return Diagnostic("K151", f"cannot read extended policy {shown(written)}: {exc.reason}", header.span,
                          hint="the path is relative to the extending file" if exc.missing else exc.hint)
    if not starts_like_policy(text):
        return Diagnostic("K156", f"extended file {shown(written)} is not a kaohe policy: it does not begin with 'policy'",
                          header.span, hint="extends names the .kh file of the policy this one builds on")
    return text


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
