"""Pinyin input for the kiosk's on-screen keyboard: letters in, a bar of Chinese candidates out.

Pinyin2Hanzi (MIT; a DAG over a phrase-frequency model) turns a list of syllables into ranked
phrases; what it lacks is splitting a continuous string such as "paiduitaichang" into syllables,
which is done here (longest valid syllable first, backtracking when the rest cannot be split).
The model takes about half a second to load, so it is loaded on first use, off the UI thread.
"""

from __future__ import annotations

import threading
from functools import cache, lru_cache
from typing import Any

_lock = threading.Lock()
_params: Any = None


@lru_cache(maxsize=1)
def syllables() -> frozenset[str]:
    from Pinyin2Hanzi import all_pinyin

    return frozenset(all_pinyin())


def split(letters: str) -> list[str] | None:
    """Syllables of a continuous pinyin string, or None when it cannot be split (a typo)."""
    valid = syllables()
    letters = letters.lower()

    @cache
    def rest(i: int) -> tuple[str, ...] | None:
        if i == len(letters):
            return ()
        for j in range(min(len(letters), i + 6), i, -1):
            if letters[i:j] in valid:
                tail = rest(j)
                if tail is not None:
                    return (letters[i:j], *tail)
        return None

    found = rest(0)
    return list(found) if found is not None else None


def _model() -> Any:
    global _params
    with _lock:
        if _params is None:
            from Pinyin2Hanzi import DefaultDagParams

            _params = DefaultDagParams()
        return _params


def warm_up() -> None:
    _model()


def _complete_prefix(letters: str) -> tuple[list[str], str]:
    """The syllables of the longest splittable prefix, and the unfinished letters after it."""
    for end in range(len(letters), 0, -1):
        parts = split(letters[:end])
        if parts:
            return parts, letters[end:]
    return [], letters


def candidates(letters: str, limit: int = 8) -> list[str]:
    """Ranked phrases for the typed letters; while a syllable is unfinished ("paid"), the complete
    prefix is offered, so that the citizen sees characters appear as they type."""
    parts, _rest = _complete_prefix(letters)
    if not parts:
        return []
    from Pinyin2Hanzi import dag

    params = _model()
    out: list[str] = []
    for size in range(len(parts), 0, -1):  # the whole phrase first, then its leading syllables
        for item in dag(params, parts[:size], path_num=limit):
            phrase = "".join(item.path)
            if phrase not in out:
                out.append(phrase)
        if len(out) >= limit:
            break
    return out[:limit]


def consumed(letters: str, phrase: str) -> str:
    """The letters left after choosing a phrase: one syllable per character is used up."""
    parts, unfinished = _complete_prefix(letters)
    return "".join(parts[len(phrase):]) + unfinished
