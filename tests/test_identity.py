from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.domain.errors import DomainError
from kiosk.domain.identity import (
    age_on,
    check_char,
    identity_hash,
    make_identity,
    mask_name,
    mask_number,
    sex_of,
    validate_number,
)
from kiosk.domain.text import scrub
from tests.helpers import make_id

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize("number", ["11010519491231002X", "110105195001010039", "11010519491231002x"])
def test_published_vectors_validate(number: str) -> None:
    assert validate_number(number, TODAY) == number.upper()


@pytest.mark.parametrize(("number", "why"), [
    ("11010519491231002", "18"),            # too short
    ("1101051949123100211", "18"),          # too long
    ("110105194912310021", "校验位"),        # wrong check digit
    ("11010519490231002X", "出生日期"),      # 31 February is no date
    ("110105203001010036", "出生日期"),      # born in the future
    ("A1010519491231002X", "数字"),          # letters
    ("", "18"),
])
def test_invalid_numbers_say_why_in_chinese(number: str, why: str) -> None:
    with pytest.raises(DomainError) as err:
        validate_number(number, TODAY)
    assert err.value.code == "ID_INVALID"
    assert err.value.status == 422
    assert why in err.value.message


def test_age_and_sex_from_the_number() -> None:
    assert sex_of("11010519491231002X") == "F"
    assert sex_of("110105195001010039") == "M"
    assert age_on("11010519491231002X", TODAY) == 76
    assert age_on("11010519491231002X", date(2026, 12, 30)) == 76
    assert age_on("11010519491231002X", date(2026, 12, 31)) == 77


def test_masked_forms() -> None:
    assert mask_number("11010519491231002X") == "1101**********002X"
    assert mask_name("张三") == "张*"
    assert mask_name("张小三") == "张*三"
    assert mask_name("欧阳小明") == "欧**明"
    assert mask_name("𠮷") == "𠮷"
    assert mask_name("𠮷野家") == "𠮷*家"


def test_keyed_hash_depends_on_the_key_and_never_shows_the_number() -> None:
    number = make_id()
    a = identity_hash(b"hall-a", number)
    assert a != identity_hash(b"hall-b", number)
    assert number not in a and number[6:14] not in a
    assert a == identity_hash(b"hall-a", number.lower())


def test_identity_repr_is_masked() -> None:
    person = make_identity({"id_number": "11010519491231002X", "name": "张小三"}, b"k", TODAY)
    text = repr(person) + str(person)
    assert "11010519491231002X" not in text and "张小三" not in text
    assert "1101**********002X" in text


@pytest.mark.parametrize("raw", [None, "x", [], {"name": "张三"}, {"id_number": 123}])
def test_malformed_identity_objects(raw: object) -> None:
    with pytest.raises(DomainError) as err:
        make_identity(raw, b"k", TODAY)
    assert err.value.code == "ID_INVALID"


def test_free_text_loses_id_numbers() -> None:
    text = scrub("我的身份证 11010519491231002X 和 110105195001010039 办不了")
    assert "11010519491231002X" not in text and "110105195001010039" not in text
    assert "1101**********002X" in text
    assert scrub("电话 13812345678") == "电话 13812345678"


def iso7064_mod11_2(first17: str) -> str:
    """ISO 7064 MOD 11-2 as the standard words it (weights are powers of two mod 11), written apart from
    the product's table of weights so that the two can check each other."""
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(first17))
    return "0123456789X"[(12 - total % 11) % 11]


def test_the_standards_own_example_is_valid_and_one_changed_digit_is_not() -> None:
    assert validate_number("11010519491231002X", TODAY) == "11010519491231002X"  # GB 11643-1999's example
    assert iso7064_mod11_2("11010519491231002") == "X"
    with pytest.raises(DomainError):
        validate_number("11010519491231003X", TODAY)
    with pytest.raises(DomainError):
        validate_number("320311770706001", TODAY)  # a 15-digit first-generation number: 18 are required


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 99_999_999_999), st.dates(date(1930, 1, 1), date(2020, 12, 31)))
def test_check_digits_agree_with_an_independent_iso7064(area_seq: int, born: date) -> None:
    first17 = f"{110101 + area_seq % 500000:06d}{born:%Y%m%d}{area_seq % 1000:03d}"
    assert check_char(first17) == iso7064_mod11_2(first17)


@pytest.mark.parametrize("first17", ["1101051949123100", "110105194912310021", "１１０１０５１９４９１２３１００２",
                                     "11010519491231OO2"])
def test_the_check_character_is_of_seventeen_ascii_digits(first17: str) -> None:
    with pytest.raises(ValueError):
        check_char(first17)


@given(st.integers(0, 99_999_999_999), st.dates(date(1930, 1, 1), date(2026, 11, 23)))
def test_an_identity_is_hashed_and_aged_as_its_number_is(area_seq: int, born: date) -> None:
    """make_identity hashes the number it normalised and counts the age from the birth date it validated: the
    same as hashing and ageing the number however it was written."""
    first17 = f"{110101 + area_seq % 500000:06d}{born:%Y%m%d}{area_seq % 1000:03d}"
    number = first17 + check_char(first17)
    person = make_identity({"id_number": number, "name": "张三"}, b"k", date(2026, 11, 23))
    spaced = f" {number[:6]} {number[6:14]} {number[14:]} ".replace("X", "x")
    assert person.hash == identity_hash(b"k", number) == identity_hash(b"k", spaced)
    assert person.age == age_on(number, date(2026, 11, 23))
    assert validate_number(spaced, TODAY) == validate_number(number.translate(FULL_WIDTH), TODAY) == number
    for wrong in "0123456789X".replace(number[17], ""):  # validation checks the character as check_char says
        with pytest.raises(DomainError):
            validate_number(first17 + wrong, TODAY)


FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９ｘ")
