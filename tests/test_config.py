import shutil
import subprocess
from pathlib import Path

import pytest

from kiosk.config_files import DEFAULT_CONFIG, load_config
from kiosk.domain.config_problems import ConfigInvalid
from tests.helpers import KIOSK_BIN, ROOT


def copy_config(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG.parent, target)
    return target / "hall.toml"


def replace_line(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_example_config_has_the_contract_defaults() -> None:
    config = load_config(DEFAULT_CONFIG)
    lim = config.limits
    assert (lim.per_person_per_day, lim.per_person_per_business, lim.agent_principals_per_day) == (3, 1, 5)
    assert lim.no_show_cooldown_minutes == 30 and config.priority.elderly_age == 70
    assert lim.kiosk_burst is not None and (lim.kiosk_burst.identities, lim.kiosk_burst.minutes) == (4, 10)
    names = {b.name for b in config.businesses}
    for needed in ("首次登记", "抵押登记", "注销抵押登记", "变更登记", "预告登记", "更正登记", "异议登记", "查封登记",
                   "登记资料查询", "办不成事反映"):
        assert needed in names
    assert all(b.materials for b in config.businesses)


def test_one_line_change_of_a_limit(tmp_path: Path) -> None:
    path = copy_config(tmp_path)
    replace_line(path, "kiosk_burst = { identities = 4, minutes = 10 }", "kiosk_burst = false")
    replace_line(path, "per_person_per_day = 3", "per_person_per_day = 7")
    config = load_config(path)
    assert config.limits.kiosk_burst is None and config.limits.per_person_per_day == 7


def test_every_problem_is_reported_with_file_key_and_expectation(tmp_path: Path) -> None:
    path = copy_config(tmp_path)
    replace_line(path, "per_person_per_day = 3", 'per_person_per_day = "three"')
    replace_line(path, 'mon = ["09:00-12:00", "13:30-17:30"]', 'mon = ["9-12"]')
    replace_line(path, 'businesses = ["Q", "X"]', 'businesses = ["Q", "Z"]')
    replace_line(path.parent / "catalog.toml", 'code = "D"', 'code = "dd"')
    with pytest.raises(ConfigInvalid) as err:
        load_config(path)
    keys = {p.key for p in err.value.problems}
    assert {"limits.per_person_per_day", "hours.mon[0]", "windows[4].businesses", "business[3].code"} <= keys
    text = str(err.value)
    assert "hall.toml" in text and "catalog.toml" in text
    assert "整数" in text and "whole number" in text


def test_config_check_command(tmp_path: Path) -> None:
    ok = subprocess.run([*KIOSK_BIN, "config", "check", str(DEFAULT_CONFIG)], capture_output=True, text=True,
                        cwd=ROOT)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "valid" in ok.stdout
    path = copy_config(tmp_path)
    path.write_text(path.read_text() + "\n[broken\n")
    bad = subprocess.run([*KIOSK_BIN, "config", "check", str(path), str(tmp_path / "missing.toml")],
                         capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 1
    assert "TOML" in bad.stdout and "missing.toml" in bad.stdout and "不存在" in bad.stdout
    assert "Traceback" not in bad.stdout + bad.stderr


def test_serve_with_broken_config_explains_and_exits(tmp_path: Path) -> None:
    path = copy_config(tmp_path)
    replace_line(path, "no_show_cooldown_minutes = 30", "no_show_cooldown_minutes = -5")
    out = subprocess.run([*KIOSK_BIN, "hall", "serve", "--config", str(path), "--data", str(tmp_path / "d")],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 2
    assert "limits.no_show_cooldown_minutes" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize(("file", "old", "new", "key", "suggestion"), [
    ("hall.toml", "per_person_per_day = 3", "per_person_per_dya = 2", "limits.per_person_per_dya",
     "per_person_per_day"),
    ("hall.toml", "kiosk_burst = { identities = 4, minutes = 10 }", "kiosk_burst = { identites = 4, minutes = 10 }",
     "limits.kiosk_burst.identites", "identities"),
    ("hall.toml", "[booking]", "[bookings]", "bookings", "booking"),
    ("hall.toml", "slot_minutes = 30", "slot_minute = 30", "booking.slot_minute", "slot_minutes"),
    ("hall.toml", 'sat = ["09:00-12:00"]', 'sta = ["09:00-12:00"]', "hours.sta", "sat"),
    ("hall.toml", 'name = "1号窗口 综合受理"', 'nmae = "1号窗口 综合受理"', "windows[0].nmae", "name"),
    ("catalog.toml", "service_minutes = 20", "service_minuets = 20", "business[0].service_minuets",
     "service_minutes"),
])
def test_a_misspelt_key_is_an_error_naming_the_nearest_key(tmp_path: Path, file: str, old: str, new: str, key: str,
                                                            suggestion: str) -> None:
    """`per_person_per_dya = 2` used to pass as valid while the default of 3 applied."""
    path = copy_config(tmp_path)
    replace_line(path.parent / file, old, new)
    out = subprocess.run([*KIOSK_BIN, "config", "check", str(path)], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 1, out.stdout
    assert key in out.stdout and f"did you mean {suggestion}?" in out.stdout and f"是否想写 {suggestion}" in out.stdout


def test_config_check_knows_every_kind_of_file(tmp_path: Path) -> None:
    files = [*sorted((ROOT / "config").glob("*.toml")), *sorted((ROOT / "config" / "drills").glob("*.toml"))]
    ok = subprocess.run([*KIOSK_BIN, "config", "check", *map(str, files)], capture_output=True, text=True, cwd=ROOT)
    assert ok.returncode == 0, ok.stdout
    for kind in ("[大厅配置 hall]", "[业务目录 catalog]", "[设备配置 devices]", "[演练场景 drill scenario]"):
        assert kind in ok.stdout
    devices = tmp_path / "devices.toml"
    devices.write_text((ROOT / "config" / "devices.toml").read_text().replace("addresses = [1]", "adresses = [1]"))
    drill = tmp_path / "drill.toml"
    drill.write_text((ROOT / "config" / "drills" / "monday.toml").read_text().replace("no_show = ", "noshow = "))
    other = tmp_path / "notes.toml"
    other.write_text('title = "not ours"\n')
    bad = subprocess.run([*KIOSK_BIN, "config", "check", str(devices), str(drill), str(other)], capture_output=True,
                         text=True, cwd=ROOT)
    assert bad.returncode == 1
    assert "keypad.adresses" in bad.stdout and "did you mean addresses" in bad.stdout
    assert "citizens.noshow" in bad.stdout and "did you mean no_show" in bad.stdout
    assert "无法判断" in bad.stdout and "Traceback" not in bad.stdout + bad.stderr
