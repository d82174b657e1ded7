"""The README and docs/ stay connected: every relative link names a file that exists and, with
a #fragment, a heading in it (the README was split into docs/ pages; a moved section breaks here)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _anchors(path: Path) -> set[str]:
    """GitHub's anchors for a Markdown file's headings (code blocks left out)."""
    anchors, fenced = set(), False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (match := re.match(r"^#{1,6} (.*)$", line)):
            anchors.add(re.sub(r"[^\w\- ]", "", match.group(1).strip().lower()).replace(" ", "-"))
    return anchors


def _broken(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    broken = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+:", target):
            continue
        name, _, fragment = target.partition("#")
        linked = (page.parent / name).resolve() if name else page
        if not linked.exists():
            broken.append(f"{page.name}: {target} (no such file)")
        elif fragment and linked.suffix == ".md" and fragment not in _anchors(linked):
            broken.append(f"{page.name}: {target} (no such heading)")
    return broken


def test_every_link_of_the_readme_and_docs_leads_somewhere() -> None:
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    assert [broken for page in pages for broken in _broken(page)] == []


def test_the_readme_stays_short_and_links_every_docs_page() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) < 300
    for page in sorted((REPO / "docs").glob("*.md")):
        assert f"docs/{page.name}" in readme, f"the README does not link {page.name}"


def test_the_link_check_sees_what_it_is_for(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# Title\n\n## Some section\n", encoding="utf-8")
    page = tmp_path / "b.md"
    page.write_text("[ok](a.md#some-section) [gone](a.md#other) [none](c.md) [web](https://x.org)\n", encoding="utf-8")
    assert _broken(page) == ["b.md: a.md#other (no such heading)", "b.md: c.md (no such file)"]
