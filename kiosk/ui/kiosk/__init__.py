"""The citizen kiosk (自助取号机): the app shell (``app``), what a citizen does (``flows/``), the "不知道办什么"
question tree (``finder``) and the offscreen tour (``tour``)."""
