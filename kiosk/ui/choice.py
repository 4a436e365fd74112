"""The counter's one question screen: options (one or several) and/or a typed text, such as the reason
every exception needs. Confirm stays disabled until the answer is complete; cancelling asks nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.button import Button
from kivy.uix.screenmanager import Screen

from kiosk.ui.hall_app import HallApp


class ChoiceScreen(Screen):
    title = StringProperty("")
    note = StringProperty("")
    text_hint = StringProperty("")
    confirm_text = StringProperty("确定")
    ready = BooleanProperty(False)



class Choice:
    """One question to the clerk: options (one or several), and/or a typed text such as a reason."""

    def __init__(self, options: list[tuple[str, Any]], multi: bool, need_text: bool,
                 done: Callable[[list[Any], str], None], text_or_option: bool) -> None:
        self.options = options
        self.multi = multi
        self.need_text = need_text
        self.text_or_option = text_or_option  # a reason: a preset chosen or one typed
        self.done = done
        self.chosen: list[Any] = []



class ChoicePanel:
    def __init__(self, app: HallApp, on_cancel: Callable[[], None]) -> None:
        self.app = app
        self.on_cancel = on_cancel
        self.choice: Choice | None = None

    def ask(self, title: str, note: str, options: list[tuple[str, Any]],
                   done: Callable[[list[Any], str], None], multi: bool = False) -> None:
        self._open(title, note, options, Choice(options, multi, False, done, False), "")

    def ask_reason(self, title: str, note: str, presets: list[str], done: Callable[[str], None]) -> None:
        """A reason: a preset tapped, or one typed. Confirm stays disabled until there is one."""
        options = [(r, r) for r in presets]
        choice = Choice(options, False, True, lambda chosen, typed: done(typed.strip() or chosen[0]), True)
        self._open(title, note, options, choice, self.app.tr("或在此输入原因", "or type the reason"))

    def _open(self, title: str, note: str, options: list[tuple[str, Any]], choice: Choice, hint: str) -> None:
        screen: ChoiceScreen = self.app.root.get_screen("choice")
        screen.title, screen.note, screen.text_hint = title, note, hint
        screen.confirm_text = (self.app.tr("确定（将记录）", "Confirm (recorded)") if choice.need_text
                               else self.app.tr("确定", "Confirm"))
        screen.ids.typed.text = ""
        box = screen.ids.options
        box.clear_widgets()
        for label, value in options:
            button = Button(text=label, font_size="20sp", halign="center", background_normal="",
                            background_color=(0.45, 0.47, 0.52, 1))
            button.bind(size=lambda b, s: setattr(b, "text_size", (s[0] - 12, None)))
            button.value = value
            button.bind(on_release=self._toggle_option)
            box.add_widget(button)
        self.choice = choice
        self.changed()
        self.app.root.current = "choice"

    def _toggle_option(self, button: Button) -> None:
        choice = self.choice
        assert choice is not None
        if button.value in choice.chosen:
            choice.chosen.remove(button.value)
        elif choice.multi:
            choice.chosen.append(button.value)
        else:
            choice.chosen = [button.value]
        for b in self.app.root.get_screen("choice").ids.options.children:
            b.background_color = (0.08, 0.36, 0.72, 1) if b.value in choice.chosen else (0.45, 0.47, 0.52, 1)
        self.changed()

    def changed(self) -> None:
        choice = self.choice
        if choice is None or self.app.root is None:
            return
        typed = self.app.root.get_screen("choice").ids.typed.text.strip()
        ready = bool(typed or choice.chosen) if choice.text_or_option else bool(choice.chosen)
        self.app.root.get_screen("choice").ready = ready

    def confirm(self) -> None:
        choice = self.choice
        screen: ChoiceScreen = self.app.root.get_screen("choice")
        if choice is None or not screen.ready:
            return  # nothing chosen, no reason given: nothing happens
        typed = screen.ids.typed.text.strip()
        self.choice = None
        choice.done(list(choice.chosen), typed)

    def cancel(self) -> None:
        self.choice = None
        self.on_cancel()
