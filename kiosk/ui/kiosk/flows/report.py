"""办不成事: a citizen reports what could not be done, in Chinese typed through an on-screen pinyin
keyboard (or common phrases tapped), with an optional phone number and ticket; a receipt prints
with the tracking number, and the duty desk sees the report at once (the hall's event feed).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from typing import Any

from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.button import Button
from kivy.uix.screenmanager import Screen

from drivers.errors import DeviceError
from drivers.printer import layouts
from kiosk.contract.client import Reply
from kiosk.contract.requests import ReportMatter
from kiosk.ui.input import pinyin
from kiosk.ui.input.handpad import HandPad  # the widget the .kv places on this screen
from kiosk.ui.kiosk.flows.shell import Shell
from kiosk.ui.palette import paint

ROWS = ["1234567890", "qwertyuiop", "asdfghjkl⌫", "zxcvbnm，。␣写"]
KEY_LABELS = {"⌫": "删除", "␣": "空格", "写": "手写"}  # 写: the handwriting pad
PHRASES = ["排队时间太长", "材料要求前后不一致", "跑了好几次", "窗口说办不了", "系统故障无法办理"]
FIELDS = {"description": ("问题描述", "What happened"), "contact": ("联系电话（可不填）", "Phone (optional)"),
          "ticket": ("排队号（可不填）", "Ticket (optional)")}
MAX_DESCRIPTION = 300


class CategoryScreen(Screen):
    pass


class ReportScreen(Screen):
    category_name = StringProperty("")
    shown = StringProperty("")
    writing = BooleanProperty(False)  # the handwriting pad instead of the pinyin keyboard


class ReportFlow:
    def __init__(self, app: Shell) -> None:
        self.receipt_qr = ""
        self.app = app
        self.category: dict[str, Any] = {}
        self.values: dict[str, str] = {}
        self.field = "description"
        self.letters = ""  # pinyin being composed
        self.receipt_printed: bool | None = None

    def build(self, root: Any) -> None:
        screen = self.screen = root.get_screen("report")
        for row in ROWS:
            for key in row:
                button = paint(Button(text=KEY_LABELS.get(key, key), font_size="30sp"), self.app.palette, "key")
                button.key = key
                button.bind(on_release=lambda b: self.key(b.key))
                screen.ids.keyboard.add_widget(button)
        for phrase in PHRASES:
            chip = paint(Button(text=phrase, font_size="20sp"), self.app.palette, "go")
            chip.bind(on_release=lambda b: self.insert(b.text))
            screen.ids.phrases.add_widget(chip)
        for field, (zh, en) in FIELDS.items():
            button = Button(font_size="20sp", background_normal="", halign="center")
            button.field = field
            button.label = (zh, en)
            button.bind(on_release=lambda b: self.choose_field(b.field))
            screen.ids.fields.add_widget(button)
        send = paint(Button(text="提交 Submit", font_size="24sp", size_hint_x=0.6), self.app.palette, "alert")
        send.bind(on_release=lambda _b: self.send())
        send.is_submit = True
        screen.ids.fields.add_widget(send)

        pad = screen.ids.pad
        pad.on_candidates = lambda found: self._show_candidates(found, self.pick_written)
        pad.text = "" if pad.available else self.app.tr(
            "本机未安装手写识别，请用拼音输入或点常用语。", "Handwriting is not installed here: use pinyin or a phrase.")

    # -- handwriting -------------------------------------------------------------------------------
    def write(self, on: bool) -> None:
        """The pad instead of the keyboard (or back): for a citizen who cannot type pinyin."""
        self.commit_letters()
        if self.field != "description":
            self.choose_field("description")
        self.screen.writing = on
        pad: HandPad = self.screen.ids.pad
        pad.ink = self.app.palette.on_panel
        pad.clear()
        self.refresh()

    def pick_written(self, character: str) -> None:
        self.insert(character)
        self.screen.ids.pad.clear()

    # -- steps -------------------------------------------------------------------------------------
    def build_categories(self, screen: Screen, categories: list[dict[str, Any]]) -> None:
        """Step 1's choices, made once when the catalog arrives (not at every visit: drawing them is slow)."""
        box = screen.ids.categories
        box.clear_widgets()
        for category in categories:
            button = paint(Button(text=f"{category['name']}\n[size=16sp]{category['name_en']}[/size]", markup=True,
                            font_size="24sp", halign="center"), self.app.palette, "alert")
            button.category = category
            button.bind(on_release=lambda b: self.choose_category(b.category))
            box.add_widget(button)

    def start(self) -> None:
        """Step 1: the category, as large choices."""
        if not self.app.catalog_body:
            self.app.offline()
            return
        self.reset()
        self.app.root.current = "categories"

    def choose_category(self, category: dict[str, Any]) -> None:
        self.category = category
        self.screen.category_name = category["name"]
        self.choose_field("description")
        self.app.root.current = "report"

    def reset(self) -> None:
        """Wipe what was typed: called when the citizen leaves or the idle timer runs out."""
        self.values = {"description": "", "contact": "", "ticket": ""}
        self.letters = ""
        self.field = "description"
        self.category = {}
        self.screen.ids.candidates.clear_widgets()
        self.screen.writing = False
        self.screen.ids.pad.clear()
        self.refresh()

    def choose_field(self, field: str) -> None:
        self.commit_letters()
        self.field = field
        self.refresh()

    # -- typing --------------------------------------------------------------------------------------
    def key(self, key: str) -> None:
        if key == "写":
            self.write(True)
            return
        if key == "⌫":
            if self.letters:
                self.letters = self.letters[:-1]
            else:
                self.values[self.field] = self.values[self.field][:-1]
        elif self.field == "description":
            if key.isalpha() and key.isascii():
                self.letters = (self.letters + key)[:24]
            else:
                self.commit_letters()
                self.insert({"␣": " "}.get(key, key))
                return
        elif self.field == "contact":
            if key.isdigit() and len(self.values["contact"]) < 11:
                self.values["contact"] += key
        elif self.field == "ticket" and (key.isdigit() or (key.isascii() and key.isalpha())):
            if len(self.values["ticket"]) < 6:
                self.values["ticket"] += key.upper()
        self.refresh()

    def insert(self, text: str) -> None:
        if self.field != "description":
            self.choose_field("description")
        self.letters = ""
        self.values["description"] = (self.values["description"] + text)[:MAX_DESCRIPTION]
        self.refresh()

    def pick(self, phrase: str) -> None:
        rest = pinyin.consumed(self.letters, phrase)
        self.values["description"] = (self.values["description"] + phrase)[:MAX_DESCRIPTION]
        self.letters = rest
        self.refresh()

    def commit_letters(self) -> None:
        """Letters typed but not turned into characters become the first candidate (as phone IMEs do)."""
        if self.letters:
            found = pinyin.candidates(self.letters, 1)
            if found:
                self.pick(found[0])
            self.letters = ""

    def refresh(self) -> None:
        screen = self.screen
        for button in screen.ids.fields.children:
            field = getattr(button, "field", None)
            if field is None:
                continue
            zh, en = button.label
            value = self.values.get(field, "")
            shown = value if field != "description" else (f"{len(value)} 字" if value else "")
            button.text = f"{self.app.tr(zh, en)}\n{shown}"
            paint(button, self.app.palette, "primary" if field == self.field else "chip")
        value = self.values.get(self.field, "")
        composing = f" [{self.letters}]" if self.letters else ""
        placeholder = {"description": self.app.tr("请用下面的拼音键盘输入，或点常用语", "Type pinyin below, or tap a phrase"),
                       "contact": self.app.tr("手机号，便于回访（可不填）", "Mobile number for the callback (optional)"),
                       "ticket": self.app.tr("小票上的排队号，如 B012（可不填）", "Ticket number such as B012 (optional)")}
        screen.shown = (value + composing) if (value or composing) else placeholder[self.field]
        if not self.screen.writing:
            self._show_candidates(pinyin.candidates(self.letters) if self.letters else [], self.pick)

    def _show_candidates(self, found: list[str], pick: Callable[[str], None]) -> None:
        bar = self.screen.ids.candidates
        bar.clear_widgets()
        for phrase in found[:7]:
            button = paint(Button(text=phrase, font_size="26sp"), self.app.palette, "candidate")
            button.bind(on_release=lambda b: pick(b.text))
            bar.add_widget(button)

    # -- sending --------------------------------------------------------------------------------------
    def send(self) -> None:
        app = self.app
        self.commit_letters()
        description = self.values["description"].strip()
        if not description:
            self.screen.shown = app.tr("请先写几个字说明情况，或点一条常用语。", "Write a few words first, or tap a phrase.")
            return
        request = ReportMatter(category=self.category.get("id", "other"), description=description,
                               contact=self.values["contact"] or None, ticket=self.values["ticket"] or None)
        key = app.new_action_key()
        app.show_progress(app.tr("正在提交…", "Sending…"))

        def done(reply: Reply) -> None:
            if not reply.ok:
                app.refused("未能提交", "Not sent", reply)
                if reply.error.get("code") in ("CONTACT_INVALID", "DESCRIPTION_REQUIRED"):
                    app.show_message(app.tr("请修改后再提交", "Please correct it"), reply.error.get("message", ""),
                                     reply.error.get("message_en", ""),
                                     actions=[(app.tr("返回修改", "Back to edit"), lambda: setattr(
                                         app.root, "current", "report"))])
                return
            self.reset()
            self.receipt(reply.body["matter"])

        app.ask(lambda: app.client.send(request, idempotency_key=key), done)

    def receipt(self, matter: dict[str, Any]) -> None:
        self.receipt_qr = str(matter["qr"])  # signed by the hall; scanned back at a kiosk it shows the progress
        app = self.app
        opened = datetime.fromisoformat(matter["opened_at"])
        slip = layouts.MatterSlip(app.hall_name, matter["number"], matter["category_name"], f"{opened:%Y-%m-%d %H:%M}",
                                  matter["deadline"], matter["qr"])
        text = (f"受理编号：{matter['number']}\n承诺在 {matter['deadline']} 前答复。值班人员已收到，会专人跟进。\n"
                "凭编号或回执二维码，可在本机“服务评价”处扫码查看进度。")
        en = f"Tracking number {matter['number']}. We will answer by {matter['deadline']}; the duty desk has it now."
        app.show_message(app.tr("已收到您的反映", "Report received"), text + "\n" + app.tr("正在打印回执…", "Printing…"), en)

        def printed(f: Future[Any]) -> None:
            try:
                f.result()
                self.receipt_printed = True
                note = app.tr("请取走回执。", "Take your receipt.")
            except DeviceError:
                self.receipt_printed = False
                note = app.tr("回执未能打印，请拍下编号和二维码。",
                              "The receipt did not print: take a photo of the number and code.")
                app.show_qr(matter["qr"])
            app.root.get_screen("message").message = text + "\n" + note

        app.background(lambda: app.devices.printer.print_slip(layouts.matter(slip)), printed)

