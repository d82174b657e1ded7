"""What a search box query says besides its words: alternatives and exclusions.

    cat OR kitten        either (also `|`, 「猫 または 子猫」)
    cat -dog             not dog (also `NOT dog`, `-"wet floor"`, 「猫 -犬」, full-width －)
    "NO LITTER" -beach   quoted phrases stay phrases

OR and NOT are operators only in capitals ("not" and "or" in a sentence stay words); a leading
minus only before a word or a quote. What an exclusion means per channel lives in
search/exclude.py; `--literal` turns all of this off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shashin.errors import UsageError

_TOKEN = re.compile(r'[-−－]?(?:"[^"]*"|「[^」]*」|“[^”]*”|『[^』]*』)|\S+')
_OR = frozenset({"OR", "|", "または", "もしくは"})
_NOT = frozenset({"NOT"})
_MINUS = ("-", "−", "－")


@dataclass(frozen=True)
class QueryLogic:
    """The alternatives to search (each a query of its own words) and what to leave out."""

    branches: tuple[str, ...]
    excluded: tuple[str, ...] = ()

    @property
    def plain(self) -> bool:
        """A query with no operator: searched exactly as before."""
        return len(self.branches) <= 1 and not self.excluded

    def understood(self) -> tuple[str, ...]:
        lines = []
        if len(self.branches) > 1:
            lines.append("any of: " + " | ".join(self.branches))
        lines += [f"not: {term}" for term in self.excluded]
        return tuple(lines)


def split_logic(text: str) -> QueryLogic:
    """`text` as alternatives and exclusions; a query without operators is one branch, as written."""
    branches: list[list[str]] = [[]]
    excluded: list[str] = []
    negate_next = False
    for token in _TOKEN.findall(text):
        if token in _OR:
            if branches[-1]:
                branches.append([])
            continue
        if token in _NOT:
            negate_next = True
            continue
        if negate_next:
            negate_next = False
            excluded.append(_unquoted(token))
            continue
        if token.startswith(_MINUS) and len(token) > 1 and token[1] not in "-−－0123456789":
            excluded.append(_unquoted(token[1:]))
            continue
        branches[-1].append(token)
    texts = tuple(" ".join(words) for words in branches if words)
    if not excluded and len(texts) <= 1:
        return QueryLogic((text.strip(),) if text.strip() else ())
    return QueryLogic(texts, tuple(term for term in excluded if term))


class QueryTooComplex(UsageError):
    """A query longer, or with more alternatives or exclusions, than a search may run (each costs
    a search of its own: a page of 166 ORs took 12 s and held up everyone else's searches)."""


def check_query(text: str, *, max_chars: int, max_alternatives: int, max_exclusions: int, parse: bool = True) -> None:
    """Refuse, with a one-line reason, a query a search should not run; `parse` False (literal
    search) counts no operators."""
    if len(text) > max_chars:
        raise QueryTooComplex(
            f"the query is {len(text):,} characters long; the limit is {max_chars:,} (search.max_query_chars)"
        )
    if not parse:
        return
    logic = split_logic(text)
    if len(logic.branches) > max_alternatives:
        raise QueryTooComplex(
            f"the query has {len(logic.branches):,} alternatives (OR); at most {max_alternatives} are searched "
            "(search.max_alternatives)"
        )
    if len(logic.excluded) > max_exclusions:
        raise QueryTooComplex(
            f"the query leaves out {len(logic.excluded):,} words or phrases; at most {max_exclusions} can be "
            "(search.max_exclusions)"
        )


def _unquoted(token: str) -> str:
    """A quoted exclusion keeps its quotes (a phrase); a bare word is itself."""
    return token.strip()
