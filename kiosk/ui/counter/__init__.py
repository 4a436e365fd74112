"""The window terminal (窗口终端): the app shell (``app``) wires the flows a clerk goes through (``flows/``):
login, calling, the one-time notice of missing materials, and the keypad's rating relay; ``tour`` plays them."""
