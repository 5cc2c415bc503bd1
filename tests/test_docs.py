"""The README and docs/: every relative link resolves, and the README stays one screen."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _checker():
    spec = importlib.util.spec_from_file_location("check_links", ROOT / "docs" / "check_links.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_relative_link_resolves():
    checker = _checker()
    pages = checker.pages()
    assert ROOT / "README.md" in pages and len(pages) > 5
    assert [problem for page in pages for problem in checker.broken_links(page)] == []


def test_checker_reports_a_missing_file_and_a_missing_heading(tmp_path, monkeypatch):
    checker = _checker()
    monkeypatch.setattr(checker, "ROOT", tmp_path)
    (tmp_path / "target.md").write_text("# A heading\n\n## The `item_embedding` stage\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](target.md#a-heading) [ok](target.md#the-item_embedding-stage) "
        "[bad](nosuch.md) [bad](target.md#nope) [web](https://example.org/x) `[code](x.md)`\n"
    )
    assert checker.broken_links(page) == [
        "page.md: nosuch.md (no such file)",
        "page.md: target.md#nope (no heading #nope)",
    ]


def test_readme_fits_on_a_screen():
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 250
