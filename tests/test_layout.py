"""Where things live stays where docs/ARCHITECTURE.md says: filter strings only in store/, channel
names only in their channel (and the store and registry that hold them), no cycles between floors."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shashin import registry

SOURCE = Path(__file__).resolve().parents[1] / "src" / "shashin"
# A LanceDB/SQL condition: a column compared with a quoted value, a NULL test, IN (…).
FILTER = re.compile(r"\b[a-z_]+ *(=|!=|<>) *'|\bIS (NOT )?NULL\b|\b[a-z_]+ IN \(|\bAND\b.*=", re.IGNORECASE)


def _strings(path: Path) -> list[tuple[int, str]]:
    """Every string literal of a module with its line (f-strings by their literal parts), docstrings left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            found.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr):
            text = "".join(part.value if isinstance(part, ast.Constant) else "{}" for part in node.values)
            found.append((node.lineno, text))
    return found


def _modules(*, outside: tuple[str, ...]) -> list[Path]:
    return [
        path
        for path in sorted(SOURCE.rglob("*.py"))
        if not any(path.relative_to(SOURCE).as_posix().startswith(prefix) for prefix in outside)
    ]


def test_no_filter_strings_outside_the_store() -> None:
    offenders = [
        f"{path.relative_to(SOURCE)}:{line}: {text!r}"
        for path in _modules(outside=("store/",))
        for line, text in _strings(path)
        if FILTER.search(text)
    ]
    assert offenders == [], "filter strings belong in shashin/store (add a typed method there):\n" + "\n".join(
        offenders
    )


def test_the_filter_pattern_catches_what_it_is_for() -> None:
    for text in ["status = 'done'", "phash IS NOT NULL", "prompt_set = '{}'", "photo_id IN ('a')"]:
        assert FILTER.search(text), text
    for text in ["a photo of a cat", "status", "the model is not available"]:
        assert not FILTER.search(text), text


# Store methods whose first argument names a channel.
CHANNEL_METHODS = {
    "channel_failures", "channel_rows", "channel_select", "channel_states", "count_channel", "count_vectors",
    "ensure_channel", "put_channel_rows", "search_channel", "search_channel_grams", "search_vectors",
}  # fmt: skip


def _named_channels(path: Path, names: set[str]) -> list[tuple[int, str]]:
    """Channel names written as literals where a channel is meant: a store call's channel argument,
    or a key of a per-channel mapping (`.channels[...]`, `.channels.get(...)`, `.unavailable`, `.hits`)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        argument = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            method = node.func
            if method.attr in CHANNEL_METHODS:
                argument = node.args[0]
            elif method.attr == "get" and isinstance(method.value, ast.Attribute):
                argument = node.args[0] if method.value.attr in ("channels", "unavailable", "hits") else None
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute):
            argument = node.slice if node.value.attr in ("channels", "unavailable", "hits") else None
        elif isinstance(node, ast.Compare) and any(
            isinstance(c, ast.Attribute) and c.attr in ("channels", "unavailable", "hits") for c in node.comparators
        ):
            argument = node.left
        if isinstance(argument, ast.Constant) and argument.value in names:
            found.append((node.lineno, argument.value))
    return found


def test_channel_names_appear_only_in_their_channel() -> None:
    owners = {name: registry.load(entry.target).__module__ for name, entry in registry.CHANNELS.items()}
    offenders = []
    for path in _modules(outside=("store/",)):
        module = "shashin." + path.relative_to(SOURCE).with_suffix("").as_posix().replace("/", ".")
        for line, name in _named_channels(path, set(owners)):
            if owners[name] != module:
                offenders.append(f"{path.relative_to(SOURCE)}:{line}: {name!r}")
    assert offenders == [], "use the channel class's `name` (or ask the channel) instead:\n" + "\n".join(offenders)


def test_the_channel_name_check_sees_what_it_is_for(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        'store.channel_rows("ocr", ids, ["text"])\nreport.channels.get("image")\n'
        'if "image" in response.unavailable: pass\nrow["phash"]\nstore.channel_rows(OcrChannel.name, ids)\n'
    )
    assert _named_channels(sample, {"ocr", "image", "phash"}) == [(1, "ocr"), (2, "image"), (3, "image")]


@pytest.mark.skipif(
    shutil.which("lint-imports", path=str(Path(sys.executable).parent)) is None, reason="needs import-linter"
)
def test_the_floors_hold_and_nothing_imports_in_a_circle() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        capture_output=True,
        text=True,
        cwd=SOURCE.parents[1],
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]


def test_code_outside_the_store_uses_only_what_the_store_contract_names() -> None:
    from shashin.store.contract import LibraryStore

    named = {name for klass in LibraryStore.__mro__ for name in vars(klass) if not name.startswith("_")}
    offenders = []
    for path in _modules(outside=("store/",)):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "store"
                and node.func.attr not in named
            ):
                offenders.append(f"{path.relative_to(SOURCE)}:{node.lineno}: store.{node.func.attr}")
    assert offenders == [], "add it to store/contract.py (or use what is there):\n" + "\n".join(offenders)


def _private_imports(path: Path) -> list[tuple[int, str]]:
    """`from shashin.x import _name` in a module: a private name of another module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("shashin"):
            found += [
                (node.lineno, f"{node.module}.{alias.name}")
                for alias in node.names
                if alias.name.startswith("_") and not alias.name.startswith("__")
            ]
    return found


def test_no_module_imports_anothers_private_names() -> None:
    offenders = [
        f"{path.relative_to(SOURCE)}:{line}: {name}"
        for path in _modules(outside=())
        for line, name in _private_imports(path)
    ]
    assert offenders == [], "a name other modules use is public (no leading underscore):\n" + "\n".join(offenders)


def test_the_private_import_check_sees_what_it_is_for(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from shashin.cli.common import _guard, app\nfrom shashin import __version__\n", encoding="utf-8")
    assert _private_imports(module) == [(1, "shashin.cli.common._guard")]
