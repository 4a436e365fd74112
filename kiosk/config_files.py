"""Reading the hall's TOML files from disk and turning them into a validated HallConfig."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from kiosk.domain.config import ConfigInvalid, ConfigProblem, HallConfig, parse_catalog, parse_hall

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "hall.toml"


def _load(path: Path, problems: list[ConfigProblem]) -> dict[str, Any] | None:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        problems.append(ConfigProblem(str(path), "(file)", "存在的文件", "an existing file", "文件不存在 not found"))
    except PermissionError:
        problems.append(ConfigProblem(str(path), "(file)", "可读取的文件", "a readable file", "无权限 permission denied"))
    except tomllib.TOMLDecodeError as exc:
        problems.append(ConfigProblem(str(path), "(syntax)", "合法的 TOML 语法", "valid TOML syntax", str(exc)))
    except UnicodeDecodeError:
        problems.append(ConfigProblem(str(path), "(encoding)", "UTF-8 编码的文本", "UTF-8 text", "无法解码 not UTF-8"))
    return None


def load_config(path: Path | str) -> HallConfig:
    """Load and validate; raise ConfigInvalid listing every problem found."""
    path = Path(path)
    problems: list[ConfigProblem] = []
    doc = _load(path, problems)
    if doc is None:
        raise ConfigInvalid(problems)
    hall = doc.get("hall") if isinstance(doc.get("hall"), dict) else {}
    catalog_name = hall.get("catalog", "catalog.toml") if isinstance(hall, dict) else "catalog.toml"
    if not isinstance(catalog_name, str):
        problems.append(ConfigProblem(str(path), "hall.catalog", "文件名", "a file name", repr(catalog_name)))
        raise ConfigInvalid(problems)
    catalog_path = path.parent / catalog_name
    catalog_doc = _load(catalog_path, problems)
    catalog = parse_catalog(catalog_doc or {}, str(catalog_path), problems) if catalog_doc is not None else ((), None)
    config = parse_hall(doc, str(path), catalog, problems)
    if config is None or problems:
        raise ConfigInvalid(problems)
    return config
