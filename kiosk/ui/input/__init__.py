"""How a citizen writes Chinese at a kiosk without a keyboard: ``pinyin`` (typed pinyin to characters) and
handwriting (``handpad``, the finger pad widget, over ``handwriting``, the zinnia recognizer)."""
