"""Evaluation keypad (按键评价器): our Modbus RTU register map, host driver and simulator."""
