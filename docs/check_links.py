"""Check that every relative link and image in the project's Markdown resolves.

Run from anywhere::

    python docs/check_links.py

It reads README.md, docs/*.md, conf/README.md and benchmarks/*.md, and for every
``[text](target)`` / ``![alt](target)`` that is not a web address checks that the file
exists (relative to the page) and, for ``#anchor``, that the target page has a heading
with that GitHub anchor. Prints one line per broken link and exits 1 if there is any.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = ("README.md", "docs/*.md", "conf/README.md", "benchmarks/*.md")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
CODE = re.compile(r"`[^`\n]*`")


def pages(root: Path = ROOT) -> list[Path]:
    """Every Markdown page the check covers."""
    found: list[Path] = []
    for pattern in PAGES:
        found.extend(sorted(root.glob(pattern)))
    return found


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """The anchors of every heading of ``page`` (code blocks skipped)."""
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return {anchor(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}


def broken_links(page: Path) -> list[str]:
    """``page: target (why)`` for every relative link of ``page`` that does not resolve."""
    text = CODE.sub("", FENCE.sub("", page.read_text(encoding="utf-8")))
    problems = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+:", target):
            continue
        path, _, fragment = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            problems.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
        elif fragment and file.suffix == ".md" and fragment not in anchors(file):
            problems.append(f"{page.relative_to(ROOT)}: {target} (no heading #{fragment})")
    return problems


def main() -> int:
    problems = [problem for page in pages() for problem in broken_links(page)]
    for problem in problems:
        sys.stdout.write(problem + "\n")
    sys.stdout.write(f"{len(pages())} pages checked, {len(problems)} broken links\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
