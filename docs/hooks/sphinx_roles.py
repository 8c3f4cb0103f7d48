"""Griffe extension: st-glot's Sphinx-style cross-references become links of the API reference.

st-glot's docstrings are Google-style with Sphinx roles for cross-references (``:func:`fit```,
``:class:`~st_glot.nn.pooling.GLOTPooling```, ``:data:`LOSSES```), which mkdocstrings does not read. On
loading the package this extension rewrites each role into an mkdocs-autorefs reference to the full path of
its target: a name is resolved in the scope of the object whose docstring holds it, as Python would.

- A target in st-glot that exists becomes an optional reference: a link where the reference renders that
  object (every public name and its members), code elsewhere (an internal helper).
- A target in st-glot that does not exist (a typo, a renamed or removed object) stays a required reference,
  which mkdocs-autorefs reports and ``mkdocs build --strict`` turns into a failure.
- A target outside st-glot (``torch``, ``sentence_transformers``) becomes code.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:func|class|meth|mod|data|attr|obj|exc):`(~?)([^`<>]+?)(?:\(\))?`")
PACKAGE = "st_glot"


def target_exists(package: griffe.Module, path: str) -> bool:
    """Whether ``path`` names a module, class, function or attribute of the loaded ``package``."""
    if path == package.path:
        return True
    try:
        package[path.removeprefix(package.path + ".")]
    except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return False
    return True


def full_path(obj: griffe.Object | griffe.Alias, name: str) -> str | None:
    """``name`` resolved in the scope of ``obj``: its first part as Python would (a member, an import, a name
    of an enclosing scope), the rest appended; a dotted name whose first part is not in scope is taken as a
    full path already (``st_glot.nn.graph``, ``torch.nn.Module``); None when an undotted name matches nothing."""
    first, _, rest = name.partition(".")
    try:
        resolved = obj.resolve(first)
    except griffe.NameResolutionError:
        return name if rest else None
    return f"{resolved}.{rest}" if rest else resolved


def rewrite(text: str, obj: griffe.Object | griffe.Alias, package: griffe.Module) -> str:
    """``text`` with every Sphinx role replaced by an autorefs reference or code (see the module docstring)."""

    def replace(match: re.Match) -> str:
        short, name = match[1] == "~", match[2].strip()
        path = full_path(obj, name)
        title = f"<code>{html.escape((path or name).rsplit('.', 1)[-1] if short else name)}</code>"
        if path is None or (path.split(".")[0] == PACKAGE and not target_exists(package, path)):
            return f'<autoref identifier="{html.escape(path or name)}">{title}</autoref>'
        if path.split(".")[0] != PACKAGE:
            return title
        return f'<autoref identifier="{html.escape(path)}" optional>{title}</autoref>'

    return ROLE.sub(replace, text)


class SphinxRoles(griffe.Extension):
    """Rewrites the Sphinx roles of every docstring of the ``st_glot`` package once it is loaded."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:  # noqa: ARG002  (griffe's signature)
        if pkg.path != PACKAGE:
            return
        for obj in walk(pkg):
            if obj.docstring is not None:
                obj.docstring.value = rewrite(obj.docstring.value, obj, pkg)


def walk(obj: griffe.Object):
    """``obj`` and every object defined under it (aliases, which are imports, left out)."""
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from walk(member)
