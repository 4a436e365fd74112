"""Sound in the hall: ``calls`` speaks the display board's calls ("请 A012 号 到 3 号窗口"), ``prompts`` speaks each
kiosk screen's guidance (语音引导), and ``sound`` makes the speech (espeak-ng) and the duty desk's chime for both."""
