"""The documentation: the API reference covers the public API, the commands page every command, the two build
hooks (docs/hooks/) write what the code says, and the links of the documents outside the site resolve.
``mkdocs build --strict`` itself runs in ``make test``."""

from __future__ import annotations

import argparse
import importlib.util
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def hook(name: str):
    """A module of docs/hooks/ (they are loaded by MkDocs from their path, not installed)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "docs" / "hooks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_api_reference_names_every_public_name():
    import st_glot

    reference = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    documented = re.findall(r"^::: st_glot\.(\w+)$", reference, re.MULTILINE)
    assert sorted(documented) == sorted(st_glot.__all__)


def test_the_commands_page_lists_the_options_of_every_command():
    page = (ROOT / "docs" / "commands.md").read_text(encoding="utf-8")
    listed = re.findall(r"^<!-- options: ([a-z-]+) -->$", page, re.MULTILINE)
    assert sorted(listed) == sorted(hook("cli_options").subcommands())


@pytest.mark.parametrize("command", ["train", "stress-test", "compare", "explain"])
def test_an_options_table_lists_what_help_prints(command: str):
    """Every option of ``st-glot COMMAND --help`` is a row of its table, with argparse's default."""
    cli = hook("cli_options")
    parser = cli.subcommands()[command]
    tables = cli.options_tables(parser)
    rows = {line.split(" | ")[0].strip("| `") for line in tables.split("\n") if line.startswith("| `")}
    flags = {a.option_strings[0] for a in parser._actions if a.option_strings and a.option_strings[0] != "-h"}
    assert {shlex.split(row)[0].rstrip(",") for row in rows if row.startswith("-")} == flags
    for action in parser._actions:
        if action.option_strings and action.default not in (None, False, argparse.SUPPRESS) and action.nargs != 0:
            default = ",".join(map(str, action.default)) if isinstance(action.default, list) else action.default
            assert f"| `{default}` |" in tables, action.option_strings


def test_a_markdown_page_gets_its_tables_and_an_unknown_command_fails_the_build():
    cli = hook("cli_options")

    class Page:
        class file:  # noqa: N801  (MkDocs' page.file.src_path)
            src_path = "commands.md"

    page = cli.on_page_markdown("## train\n\n<!-- options: train -->\n", Page, None, None)
    assert "| `--task {" in page and "<!-- options" not in page
    assert cli.on_page_markdown("no marker here", Page, None, None) == "no marker here"
    with pytest.raises(ValueError, match="no command 'st-glot trian'"):
        cli.on_page_markdown("<!-- options: trian -->", Page, None, None)


@pytest.fixture(scope="module")
def package():
    import griffe

    return griffe.load("st_glot", search_paths=[str(ROOT)], resolve_aliases=False)


def test_sphinx_roles_become_references_to_the_full_path(package):
    """A role naming an object of st-glot links it (optional: code where the reference does not render it);
    one naming nothing stays a required reference, which fails ``mkdocs build --strict``; one outside
    st-glot is code."""
    roles = hook("sphinx_roles")
    fit_module = package["training.fit"]
    text = roles.rewrite(
        ":func:`fit` :class:`~st_glot.training.cache.TokenStateCache` :data:`LOSSES` "
        ":func:`st_glot.training.fit.fitt` :class:`torch.Tensor` :func:`nothing_here`",
        fit_module,
        package,
    )
    assert text.split(" <")[0] == '<autoref identifier="st_glot.training.fit.fit" optional><code>fit</code></autoref>'
    assert (
        '<autoref identifier="st_glot.training.cache.TokenStateCache" optional><code>TokenStateCache</code></autoref>'
        in text
    )
    assert '<autoref identifier="st_glot.utils.choices.LOSSES" optional>' in text  # imported into fit's module
    assert '<autoref identifier="st_glot.training.fit.fitt"><code>st_glot.training.fit.fitt</code></autoref>' in text
    assert "<code>torch.Tensor</code>" in text and 'identifier="torch' not in text
    assert '<autoref identifier="nothing_here"><code>nothing_here</code></autoref>' in text


def test_every_sphinx_role_of_the_package_names_an_object(package):
    """Also in the docstrings the API reference does not render: a role left naming a renamed or removed
    object is found here, not only when a page renders it."""
    roles = hook("sphinx_roles")
    unresolved = [
        (obj.path, m[1])
        for obj in roles.walk(package)
        if obj.docstring is not None
        for m in re.finditer(r'<autoref identifier="([^"]+)">', roles.rewrite(obj.docstring.value, obj, package))
    ]
    assert unresolved == []


LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(page: Path) -> set[str]:
    """The heading anchors of a Markdown page, slugged as MkDocs (and, for these headings, GitHub) does."""
    from markdown.extensions.toc import slugify

    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.MULTILINE | re.DOTALL)
    return {slugify(m[1].replace("`", ""), "-") for m in re.finditer(r"^#+ (.+)$", text, re.MULTILINE)}


@pytest.mark.parametrize("document", ["README.md", "CONTRIBUTING.md", "benchmarks/README.md"])
def test_the_links_outside_the_site_resolve(document: str):
    """MkDocs checks the links of docs/; these documents are read on the repository's host and link into it."""
    source = ROOT / document
    for target in LINK.findall(source.read_text(encoding="utf-8")):
        if target.startswith(("http://", "https://")):
            continue
        path, _, anchor = target.partition("#")
        linked = (source.parent / path).resolve() if path else source
        assert linked.exists(), f"{document}: {target} names no file"
        if anchor:
            assert anchor in anchors(linked), f"{document}: {target}: no heading #{anchor} in {path or document}"
