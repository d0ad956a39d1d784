"""MkDocs hook: links from a page to a repository file outside ``docs/`` (``../policies/aba.kh``).

Why: the pages link to the policies, test files and sample units they describe, so that they
read well on a code host; MkDocs only knows the files under ``docs/`` and ``--strict`` refuses
every such link.  Dropping ``--strict`` for them would also hide real broken links, so instead
the linked file is published with the site (under ``_repo/``, the same relative path as in the
repository) and the link rewritten to it.  A link to a file that does not exist is left alone,
so ``--strict`` still fails on it.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

PREFIX = "_repo"
#: A linked Markdown file is published as its raw text: rendered, it would be a page outside the nav
#: whose own relative links point into the repository, not the site.
RAW = ".txt"
LINK = re.compile(r"(\]\()([^)\s#]+)(#[^)\s]*)?(\))")


def _outside(page_src: str, target: str, docs: Path, root: Path) -> str | None:
    """The repository path of ``target`` linked from ``page_src`` when it leaves docs/ and exists."""
    if "://" in target or target.startswith(("/", "mailto:")):
        return None
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(page_src), target))
    if not joined.startswith("../"):
        return None
    path = (docs / joined).resolve()
    try:
        relative = path.relative_to(root)
    except ValueError:
        return None
    return relative.as_posix() if path.is_file() else None


def _published(target: str) -> str:
    return f"{PREFIX}/{target}{RAW if target.endswith('.md') else ''}"


def on_files(files: Files, config: Any) -> Files:
    docs = Path(config["docs_dir"]).resolve()
    root = docs.parent
    seen: set[str] = set()
    for file in list(files.documentation_pages()):
        text = Path(file.abs_src_path or "").read_text(encoding="utf-8")
        for match in LINK.finditer(text):
            target = _outside(file.src_uri, match.group(2), docs, root)
            if target is not None and target not in seen:
                seen.add(target)
                files.append(File.generated(config, _published(target), abs_src_path=str(root / target)))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    docs = Path(config["docs_dir"]).resolve()
    root = docs.parent
    src = page.file.src_uri

    def rewrite(match: re.Match[str]) -> str:
        target = _outside(src, match.group(2), docs, root)
        if target is None:
            return match.group(0)
        new = posixpath.relpath(_published(target), posixpath.dirname(src) or ".")
        return f"{match.group(1)}{new}{match.group(3) or ''}{match.group(4)}"

    return LINK.sub(rewrite, markdown)
