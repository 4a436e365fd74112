"""The kiosk's input helpers: pinyin to Chinese candidates, and the "不知道办什么" questions."""

from __future__ import annotations

import pytest

from kiosk.config_files import DEFAULT_CONFIG, load_config
from kiosk.ui.input import pinyin
from kiosk.ui.kiosk import finder


@pytest.mark.parametrize(("letters", "syllables"), [
    ("paidui", ["pai", "dui"]),
    ("xianzai", ["xian", "zai"]),
    ("buzhidao", ["bu", "zhi", "dao"]),
    ("cailiao", ["cai", "liao"]),
    ("qdz", None),
])
def test_continuous_pinyin_is_split_into_syllables(letters: str, syllables: list[str] | None) -> None:
    assert pinyin.split(letters) == syllables


@pytest.mark.parametrize(("letters", "phrase"), [
    ("paidui", "排队"), ("cailiao", "材料"), ("buzhidao", "不知道"), ("chuangkou", "窗口"), ("shoufei", "收费"),
])
def test_the_common_phrase_is_the_first_candidate(letters: str, phrase: str) -> None:
    assert pinyin.candidates(letters)[0] == phrase


def test_unfinished_syllables_still_offer_characters_and_keep_the_rest() -> None:
    found = pinyin.candidates("paid")  # "pai" + an unfinished "d"
    assert found and found[0] == "排"
    assert pinyin.consumed("paid", "排") == "d"
    assert pinyin.consumed("paiduitaichang", "排队") == "taichang"
    assert pinyin.candidates("") == [] and pinyin.candidates("v") == []


def test_every_helper_answer_leads_to_a_business_of_the_catalog() -> None:
    config = load_config(DEFAULT_CONFIG)
    codes = {b.code for b in config.businesses}
    leaves = finder.leaves()
    assert leaves and set(leaves) <= codes
    # never more than three questions deep
    def depth(q: finder.Question) -> int:
        return 1 + max((depth(a.next) for a in q.answers if a.next), default=0)
    assert depth(finder.ROOT) <= 3
