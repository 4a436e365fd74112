"""A broken hall configuration gets every problem named, in Chinese and English, never a stack trace.

The technician installing a hall edits hall.toml and catalog.toml by hand (often on Windows); whatever they
write, `kiosk config check` and `kiosk hall serve` must say which file, which key, and what was expected.
"""

import copy
import subprocess
import tomllib
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest

from kiosk.config_files import DEFAULT_CONFIG, load_config
from kiosk.domain.config import HallConfig, NationalCalendar
from kiosk.domain.config_parse import parse_catalog, parse_hall
from kiosk.domain.config_problems import ConfigInvalid, ConfigProblem
from tests.helpers import KIOSK_BIN, ROOT
from tests.test_config import copy_config, replace_line

HALL = tomllib.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))
CATALOG = tomllib.loads((DEFAULT_CONFIG.parent / "catalog.toml").read_text(encoding="utf-8"))


def _parse(hall: dict[str, Any], catalog: dict[str, Any]) -> tuple[HallConfig | None, list[ConfigProblem]]:
    problems: list[ConfigProblem] = []
    parsed = parse_catalog(catalog, "catalog.toml", problems)
    return parse_hall(hall, "hall.toml", parsed, problems, NationalCalendar()), problems


def _places(doc: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every table, list and value of a TOML document, with where it stands."""
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for key, value in items:
        yield (*path, key), value
        yield from _places(value, (*path, key))


def _shown(path: tuple[str | int, ...]) -> str:
    """The key as a problem names it: business[3].materials[0].id."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _wrong_for(value: Any) -> list[Any]:
    """Values of another type than ``value``: each must be refused where it stands."""
    if isinstance(value, bool):
        return [1, "true"]
    if isinstance(value, int):
        return ["3", [3], {"n": 3}, True]
    if isinstance(value, str):
        return [3, ["x"], {"x": "y"}]
    if isinstance(value, list):
        return [3, "x", {"x": 1}]
    if isinstance(value, dict):
        return [3, "x", []]
    if isinstance(value, date):
        return [3, "x", datetime(2027, 1, 1, 9, 0), time(9, 0)]
    raise AssertionError(f"a value of a new type in the example files: {value!r}")


def _cases() -> Iterator[tuple[str, tuple[str | int, ...], Any]]:
    for file, doc in (("hall.toml", HALL), ("catalog.toml", CATALOG)):
        for path, value in _places(doc):
            if path == ("hall", "catalog"):  # the catalog's file name is load_config's (a file test below)
                continue
            for wrong in _wrong_for(value):
                yield file, path, wrong


def test_the_example_files_parse_without_a_problem() -> None:
    config, problems = _parse(HALL, CATALOG)
    assert problems == [] and config is not None


def test_a_value_of_the_wrong_type_anywhere_is_a_named_problem_never_a_crash() -> None:
    """`reductions = 5` and `categories = 5` used to raise TypeError out of the parser (a stack trace from
    `kiosk hall serve`), and a number or a list where a name, an English name, a description or the region
    belongs was silently turned into text."""
    unnamed: list[str] = []
    for file, path, wrong in _cases():
        hall, catalog = copy.deepcopy(HALL), copy.deepcopy(CATALOG)
        target: Any = hall if file == "hall.toml" else catalog
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = wrong
        config, problems = _parse(hall, catalog)  # raises nothing: an exception fails the test with its case
        where = _shown(path)
        named = [p for p in problems if p.file == file and (where.startswith(p.key) or p.key.startswith(where))]
        if config is not None or not named:
            unnamed.append(f"{file} {where} = {wrong!r}")
        for problem in problems:
            text = str(problem)
            assert "应为" in text and "expected" in text, text
    assert unnamed == []


@pytest.mark.parametrize(("file", "old", "new", "key", "zh"), [
    ("catalog.toml", 'code = "D"', 'code = "A"', "business[3].code", "各业务不同的前缀字母"),
    ("catalog.toml", 'key = "mortgage"\n', 'key = "transfer"\n', "business[3].key", "各业务不同的英文业务标识"),
    ("catalog.toml", 'key = "mortgage"\n', 'key = "B"\n', "business[3].key", "各业务不同的英文业务标识"),
    ("catalog.toml", 'id = "homestead"', 'id = "small_micro"', "fees.reductions[1].id", "不重复的减免编号"),
    ("hall.toml", 'id = "other"', 'id = "fees"', "matters.categories[6].id", "不重复的类别编号"),
    ("hall.toml", "holidays = [2027-01-01,", "holidays = [2027-01-01T00:00:00,", "calendar.holidays[0]",
     "日期，如 2026-10-01"),
])
def test_a_name_used_twice_or_a_date_with_a_time_is_a_problem(tmp_path: Path, file: str, old: str, new: str,
                                                               key: str, zh: str) -> None:
    """A business reached by its letter or by its key: a key used twice (or used as another business's letter)
    would send citizens of one business to the other's queue. A holiday written with a time never matched a
    day and was silently not a holiday."""
    path = copy_config(tmp_path)
    replace_line(path.parent / file, old, new)
    with pytest.raises(ConfigInvalid) as err:
        load_config(path)
    assert key in [p.key for p in err.value.problems]
    assert zh in str(err.value) and "expected" in str(err.value)


def test_a_folder_instead_of_a_file_is_named_and_the_other_files_still_checked(tmp_path: Path) -> None:
    """An unreadable file (a folder given for hall.toml, `catalog = "."`) used to stop `config check` at
    that file with the system's English error, leaving the files after it unchecked."""
    folder = tmp_path / "not-a-file.toml"
    folder.mkdir()
    path = copy_config(tmp_path)
    replace_line(path, 'catalog = "catalog.toml"', 'catalog = "."')
    out = subprocess.run([*KIOSK_BIN, "config", "check", str(folder), str(path), str(DEFAULT_CONFIG)],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 1, out.stdout + out.stderr
    assert f"{folder}: (file): 应为可读取的文件" in out.stdout and "a readable file" in out.stdout
    assert f"{path.parent}: (file): 应为可读取的文件" in out.stdout
    assert "✓" in out.stdout and "Traceback" not in out.stdout + out.stderr
    serve = subprocess.run([*KIOSK_BIN, "hall", "serve", "--config", str(folder), "--data", str(tmp_path / "d")],
                           capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert serve.returncode == 2
    assert "配置文件有错误" in serve.stderr and "a readable file" in serve.stderr
    assert "Traceback" not in serve.stderr


def test_a_toml_mistake_is_placed_in_chinese_and_english(tmp_path: Path) -> None:
    """tomllib says `Invalid value (at line 32, column 22)`: the place and the kind of mistake were only
    in English."""
    path = copy_config(tmp_path)
    replace_line(path, "per_person_per_day = 3", "per_person_per_day = ")
    number = next(i for i, line in enumerate(path.read_text().splitlines(), 1) if line.startswith("per_person_per_day"))
    with pytest.raises(ConfigInvalid) as err:
        load_config(path)
    (problem,) = err.value.problems
    assert problem.key == f"第 {number} 行第 22 列 (line {number}, column 22)"
    assert "值的写法不对" in str(problem) and "Invalid value" in str(problem)
    assert problem.got == repr("per_person_per_day =")


def test_a_file_saved_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    """Windows Notepad saves UTF-8 with a byte order mark; tomllib refused it as `Invalid statement (at line 1,
    column 1)`, which no technician could make sense of."""
    path = copy_config(tmp_path)
    for file in (path, path.parent / "catalog.toml"):
        file.write_bytes(b"\xef\xbb\xbf" + file.read_bytes())
    assert load_config(path).hall_id == "demo-hall"


def test_a_file_in_gbk_is_told_to_be_saved_as_utf8(tmp_path: Path) -> None:
    path = copy_config(tmp_path)
    path.write_bytes(path.read_text(encoding="utf-8").encode("gb18030"))
    with pytest.raises(ConfigInvalid) as err:
        load_config(path)
    (problem,) = err.value.problems
    assert problem.key == "(encoding)" and "另存为 UTF-8" in str(problem) and "save it as UTF-8" in str(problem)


def test_the_other_files_are_checked_the_same_way(tmp_path: Path) -> None:
    """The same mistakes reach the product through other doors: `config check` of a catalog on its own, and a
    terminal's devices.toml (saved by Notepad with a byte order mark, or a folder given for it)."""
    catalog = tmp_path / "catalog.toml"
    catalog.write_text((ROOT / "config" / "catalog.toml").read_text(encoding="utf-8")
                       .replace('key = "mortgage"\n', 'key = "transfer"\n'), encoding="utf-8")
    devices = tmp_path / "devices.toml"
    devices.write_bytes(b"\xef\xbb\xbf" + (ROOT / "config" / "devices.toml").read_bytes())
    out = subprocess.run([*KIOSK_BIN, "config", "check", str(catalog), str(devices)], capture_output=True, text=True,
                         cwd=ROOT)
    assert out.returncode == 1, out.stdout
    assert "business[3].key: 应为各业务不同的英文业务标识" in out.stdout and "not used by another business" in out.stdout
    assert f"✓ {devices}" in out.stdout, out.stdout
    folder = tmp_path / "devices-folder.toml"
    folder.mkdir()
    probe = subprocess.run([*KIOSK_BIN, "devices", "probe", "all", "--devices", str(folder)], capture_output=True,
                           text=True, cwd=ROOT, timeout=60)
    assert probe.returncode != 0
    assert "设备配置文件无法读取" in probe.stdout + probe.stderr and "cannot be read" in probe.stdout + probe.stderr
    assert "Traceback" not in probe.stdout + probe.stderr
