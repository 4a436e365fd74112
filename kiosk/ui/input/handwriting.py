"""Offline Chinese handwriting recognition: zinnia with the Simplified Chinese model, both from Debian
(libzinnia0, tegaki-zinnia-simplified-chinese), through a ctypes binding of the few functions needed.

A stroke is the list of points a finger passed through, in pad coordinates with y growing downwards.
Recognition takes milliseconds and runs on the kiosk; nothing leaves it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from pathlib import Path

MODELS = (Path("/usr/share/tegaki/models/zinnia/handwriting-zh_CN.model"),
          Path("/usr/share/tegaki/models/zinnia/handwriting-zh_TW.model"))
Stroke = list[tuple[float, float]]


def _library() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("zinnia") or "libzinnia.so.0"
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    p, s, i, f = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_float
    for fn, args, res in (("zinnia_recognizer_new", [], p), ("zinnia_recognizer_open", [p, ctypes.c_char_p], i),
                          ("zinnia_recognizer_destroy", [p], None), ("zinnia_character_new", [], p),
                          ("zinnia_character_destroy", [p], None), ("zinnia_character_set_width", [p, s], None),
                          ("zinnia_character_set_height", [p, s], None), ("zinnia_character_add", [p, s, i, i], i),
                          ("zinnia_recognizer_classify", [p, p, s], p), ("zinnia_result_size", [p], s),
                          ("zinnia_result_value", [p, s], ctypes.c_char_p), ("zinnia_result_score", [p, s], f),
                          ("zinnia_result_destroy", [p], None)):
        function = getattr(lib, fn)
        function.argtypes, function.restype = args, res
    return lib


class Recognizer:
    SIZE = 300  # strokes are scaled into a square of this size, as the model was trained

    def __init__(self, lib: ctypes.CDLL, handle: int) -> None:
        self._lib = lib
        self._handle = handle

    @classmethod
    def open(cls, model: Path | None = None) -> Recognizer | None:
        """The recognizer, or None when the library or the model is not installed (the pad says so)."""
        lib = _library()
        path = model or next((m for m in MODELS if m.exists()), None)
        if lib is None or path is None or not path.exists():
            return None
        handle = lib.zinnia_recognizer_new()
        if not lib.zinnia_recognizer_open(handle, str(path).encode()):
            lib.zinnia_recognizer_destroy(handle)
            return None
        return cls(lib, handle)

    def classify(self, strokes: list[Stroke], width: float, height: float, n: int = 10) -> list[str]:
        """The ``n`` likeliest characters, best first, for strokes drawn in a ``width`` × ``height`` box."""
        points = [s for s in strokes if s]
        if not points:
            return []
        lib = self._lib
        side = max(width, height, 1.0)
        character = lib.zinnia_character_new()
        try:
            lib.zinnia_character_set_width(character, self.SIZE)
            lib.zinnia_character_set_height(character, self.SIZE)
            for index, stroke in enumerate(points):
                for x, y in stroke:
                    lib.zinnia_character_add(character, index, int(x / side * self.SIZE), int(y / side * self.SIZE))
            result = lib.zinnia_recognizer_classify(self._handle, character, n)
            if not result:
                return []
            try:
                return [lib.zinnia_result_value(result, i).decode("utf-8")
                        for i in range(lib.zinnia_result_size(result))]
            finally:
                lib.zinnia_result_destroy(result)
        finally:
            lib.zinnia_character_destroy(character)

    def close(self) -> None:
        if self._handle:
            self._lib.zinnia_recognizer_destroy(self._handle)
            self._handle = 0
