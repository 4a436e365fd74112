"""QR / barcode input: serial scanners (lines ended by CR/LF) and cameras (OpenCV + pyzbar).

A USB-HID scanner types into the app like a keyboard; the UI handles that as input."""
