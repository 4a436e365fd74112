"""The CJK font for raster slips: Simplified Chinese glyph shapes, rare name characters included."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

from drivers.errors import DeviceError

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "fonts"
# (path, face index): face 2 of Noto Sans CJK's collection is the Simplified Chinese one (face 0 is Japanese)
CANDIDATES = [
    (ASSETS / "NotoSansCJKsc-Regular.otf", 0),
    (Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"), 2),
    (Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"), 0),
]


def font_source() -> tuple[Path, int]:
    for path, index in CANDIDATES:
        if path.exists():
            return path, index
    raise DeviceError("找不到中文字体：请运行安装命令（会安装 fonts-noto-cjk）。",
                      "No CJK font found: run the set-up command (it installs fonts-noto-cjk).")


@lru_cache(maxsize=16)
def cjk_font(size: int) -> ImageFont.FreeTypeFont:
    path, index = font_source()
    return ImageFont.truetype(str(path), size, index=index)


@lru_cache(maxsize=1)
def covered() -> frozenset[int]:
    from fontTools.ttLib import TTCollection, TTFont

    path, index = font_source()
    font = TTCollection(str(path)).fonts[index] if path.suffix == ".ttc" else TTFont(str(path))
    return frozenset(font.getBestCmap())


def missing_glyphs(text: str) -> set[str]:
    cmap = covered()
    return {ch for ch in text if not ch.isspace() and ord(ch) not in cmap}
