"""Slip elements → ESC/POS bytes, in the printer's Chinese text mode or as raster lines.

Text mode sends GB18030 inside FS & … FS .; a line with a character the printer's GBK
font lacks (a rare name character such as 𠮷) is drawn as a raster line instead, so it
always prints correctly. Raster mode draws every line with the CJK font.
"""

from __future__ import annotations

import qrcode
from PIL import Image, ImageDraw

from drivers.printer import escpos
from drivers.printer.fonts import cjk_font
from drivers.printer.layouts import QR, Cut, Element, Feed, Line, Rule

PAPER_PX = {58: 384, 80: 576}
BASE_PX = 24  # the 12×24 font's height


def line_image(line: Line, width: int) -> Image.Image:
    font = cjk_font(BASE_PX * line.size)
    height = int(BASE_PX * line.size * 1.3)
    image = Image.new("1", (width, height), 1)
    draw = ImageDraw.Draw(image)
    text_width = draw.textlength(line.text, font=font)
    x = {"left": 0, "center": (width - text_width) / 2, "right": width - text_width}[line.align]
    draw.text((max(0, x), 0), line.text, font=font, fill=0, stroke_width=1 if line.bold else 0, stroke_fill=0)
    return image


def qr_image(content: str, modules_px: int, width: int) -> Image.Image:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=modules_px, border=4)
    code.add_data(content.encode("utf-8"))
    code.make(fit=True)
    img = code.make_image(fill_color="black", back_color="white").get_image().convert("1")
    if img.width > width:
        img = img.resize((width, width * img.height // img.width))
    canvas = Image.new("1", (width, img.height), 1)
    canvas.paste(img, ((width - img.width) // 2, 0))
    return canvas


def render(elements: list[Element], mode: str = "text", paper: int = 80) -> bytes:
    if mode not in ("text", "raster") or paper not in PAPER_PX:
        raise ValueError("mode must be text or raster, paper 58 or 80")
    width = PAPER_PX[paper]
    out = bytearray(escpos.INIT)
    for element in elements:
        if isinstance(element, Line):
            if mode == "raster" or not escpos.gbk_encodable(element.text):
                out += escpos.ALIGN["left"] + escpos.raster(line_image(element, width))
            else:
                out += escpos.ALIGN[element.align] + escpos.bold(element.bold) + escpos.size(element.size, element.size)
                out += escpos.chinese_text(element.text) + b"\n" + escpos.size(1, 1) + escpos.bold(False)
        elif isinstance(element, QR):
            out += escpos.ALIGN["left"] + escpos.raster(qr_image(element.content, element.modules_px, width))
        elif isinstance(element, Rule):
            out += escpos.ALIGN["left"] + b"-" * (width // 12) + b"\n"
        elif isinstance(element, Feed):
            out += escpos.feed(element.lines)
        elif isinstance(element, Cut):
            out += escpos.CUT
    return bytes(out)
