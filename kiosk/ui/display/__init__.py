"""The hall's display board (叫号屏): the calls, shown and spoken (``app``); ``tour`` plays it."""
