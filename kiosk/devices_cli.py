"""`kiosk devices …`: technician tools for the hall's devices, usable against the simulators.

Every failure is a sentence a technician can act on (Chinese, then English) and exit 1;
personal data read from a card is shown masked only.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from datetime import date

from kiosk.config_files import DEFAULT_CONFIG
from kiosk.domain.identity import age_on, mask_name, mask_number
from kiosk.domain.labels import RATING_LEVELS


def _addresses(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise SystemExit(f"地址应为 1–247 的数字，用逗号分隔 / addresses must be numbers 1-247: {text}") from None
    if not values or any(not 1 <= v <= 247 for v in values):
        raise SystemExit(f"地址应为 1–247 / addresses must be 1-247: {text}")
    return values


def cmd_ports(_args: argparse.Namespace) -> int:
    from serial.tools import list_ports

    ports = list(list_ports.comports())
    if not ports:
        print("没有发现串口设备。USB 转串口线插好了吗？`dmesg | tail` 可以看到插入记录。")
        print("No serial ports found. Is the USB serial adapter plugged in? `dmesg | tail` shows it.")
        return 0
    for port in ports:
        print(f"{port.device:<20} {port.description}  {port.hwid}")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    """Run a simulator in the foreground; commands on stdin drive it."""
    if args.device == "keypad":
        from drivers.keypad.simulator import Faults, KeypadBusSimulator

        addresses = _addresses(args.addresses)
        sim = KeypadBusSimulator(addresses, Faults(noise=args.noise, drop=args.drop, corrupt=args.corrupt))
        sim.start()
        print(f"评价器模拟器 keypad simulator: {sim.path} (addresses {','.join(map(str, addresses))}, 9600 8N1)",
              flush=True)
        print("命令 commands: press ADDR KEY | unplug ADDR | plug ADDR | status | quit", flush=True)
        watcher = threading.Thread(target=_watch_keypads, args=(sim,), daemon=True)
        watcher.start()
        try:
            for line in sys.stdin:
                words = line.split()
                if not words:
                    continue
                if words[0] == "quit":
                    break
                try:
                    if words[0] == "press":
                        ok = sim.press(int(words[1]), int(words[2]))
                        print(f"press {words[1]} {words[2]}: {'counted' if ok else 'ignored (not asking for a rating)'}",
                              flush=True)
                    elif words[0] == "unplug":
                        sim.faults.unplugged.add(int(words[1]))
                        print(f"keypad {words[1]} unplugged", flush=True)
                    elif words[0] == "plug":
                        sim.faults.unplugged.discard(int(words[1]))
                        print(f"keypad {words[1]} plugged in", flush=True)
                    elif words[0] == "status":
                        for kp in sim.keypads.values():
                            print(f"keypad {kp.address}: {kp.mode.name} {kp.clerk_name} queue={list(kp.queue)}",
                                  flush=True)
                    else:
                        print(f"未知命令 unknown command: {words[0]}", flush=True)
                except (IndexError, ValueError, KeyError):
                    print(f"命令格式不对 bad command: {line.strip()}", flush=True)
        finally:
            sim.stop()
        return 0
    if args.device == "scanner":
        from drivers.scanner.simulator import ScannerSimulator

        with ScannerSimulator() as scanner:
            print(f"扫码枪模拟器 scanner simulator: {scanner.path} (9600 8N1, suffix CR)", flush=True)
            print("命令 commands: scan TEXT | noise | quit", flush=True)
            for line in sys.stdin:
                words = line.rstrip("\n").split(" ", 1)
                if words[0] == "quit":
                    break
                if words[0] == "scan" and len(words) == 2:
                    scanner.scan(words[1])
                    print("scanned", flush=True)
                elif words[0] == "noise":
                    scanner.noise(b"\x00\xff\x13")
                    print("noise sent", flush=True)
                else:
                    print(f"命令格式不对 bad command: {line.strip()}", flush=True)
        return 0
    from drivers.idcard.simulator import SAMPLE_CARDS, IdCardSimulator, ReaderFaults

    with IdCardSimulator(ReaderFaults(checksum=args.corrupt, noise=args.noise)) as reader:
        print(f"身份证阅读器模拟器 ID card reader simulator: {reader.path} (115200 8N1)", flush=True)
        print(f"命令 commands: place {'|'.join(SAMPLE_CARDS)} | remove | unplug | plug | quit", flush=True)
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            if words[0] == "quit":
                break
            if words[0] == "place" and len(words) > 1 and words[1] in SAMPLE_CARDS:
                reader.place(words[1])
                print(f"card {words[1]} placed", flush=True)
            elif words[0] == "remove":
                reader.remove()
                print("card removed", flush=True)
            elif words[0] in ("unplug", "plug"):
                reader.faults.unplugged = words[0] == "unplug"
                print(f"reader {words[0]}ged", flush=True)
            else:
                print(f"命令格式不对 bad command: {line.strip()}", flush=True)
    return 0


def _watch_keypads(sim: object) -> None:
    from drivers.keypad.simulator import KeypadBusSimulator

    assert isinstance(sim, KeypadBusSimulator)
    seen = {a: (k.mode, k.clerk_name) for a, k in sim.keypads.items()}
    while not sim.link.closed:
        for address, keypad in sim.keypads.items():
            now = (keypad.mode, keypad.clerk_name)
            if now != seen[address]:
                seen[address] = now
                print(f"keypad {address}: {keypad.mode.name} {keypad.clerk_name}", flush=True)
        time.sleep(0.05)


def cmd_probe(args: argparse.Namespace) -> int:
    if args.device == "all":
        from drivers.devices_config import load_devices_config
        from drivers.factory import open_devices, probe

        devices = open_devices(load_devices_config(args.devices))
        try:
            results = probe(devices)
        finally:
            devices.close()
        for name, ok, sentence in results:
            print(f"{'✓' if ok else '✗'} {name}: {sentence}")
        return 0 if all(ok for _, ok, _ in results) else 1
    if not args.port:
        print("请用 --port 指明设备端口 / give the device's port with --port", file=sys.stderr)
        return 2
    if args.device == "printer":
        from drivers.printer.ports import status

        st = status(args.port)
        print(f"{'✓' if st.can_print else '✗'} {st.sentence()}")
        return 0 if st.can_print else 1
    from drivers.factory import probe_idcard, probe_keypads

    if args.device == "keypad":
        from drivers.keypad.driver import KeypadBus

        bus = KeypadBus(args.port, _addresses(args.addresses), baudrate=args.baud or 9600, retries=1)
        try:
            results = probe_keypads(bus)
        finally:
            bus.stop()
    else:
        from drivers.idcard.driver import IdCardReader

        reader = IdCardReader(args.port, baudrate=args.baud or 115200)
        try:
            results = [probe_idcard(reader)]
        finally:
            reader.close()
    for _name, ok, sentence in results:
        print(f"{'✓' if ok else '✗'} {sentence}")
    return 0 if all(ok for _, ok, _ in results) else 1


def cmd_watch_keypad(args: argparse.Namespace) -> int:
    from drivers.keypad.driver import KeypadBus, KeypadOffline, KeypadOnline, KeyPress, RatingTimedOut

    addresses = _addresses(args.addresses)
    bus = KeypadBus(args.port, addresses, baudrate=args.baud or 9600)
    if args.arm:
        for address in addresses:
            bus.please_rate(address, "测试", 0, address, 300)
    print(f"监视评价器 watching keypads {addresses} on {args.port} (Ctrl-C 结束)", flush=True)
    presses = 0
    try:
        while args.count is None or presses < args.count:
            for event in bus.poll_once():
                if isinstance(event, KeyPress):
                    presses += 1
                    print(f"{event.address} 号评价器 keypad {event.address}: 按键 key {event.level} "
                          f"{RATING_LEVELS.get(event.level, '?')} (seq {event.seq})", flush=True)
                    bus.acknowledge(event.address, event.seq)  # shown to the technician: that is its store
                    if args.arm:
                        bus.please_rate(event.address, "测试", 0, event.address, 300)
                elif isinstance(event, KeypadOffline):
                    print(f"✗ {event.reason}", flush=True)
                elif isinstance(event, KeypadOnline):
                    print(f"✓ {event.address} 号评价器已恢复 keypad {event.address} back online", flush=True)
                elif isinstance(event, RatingTimedOut):
                    print(f"{event.address} 号评价器评价超时 keypad {event.address}: rating timed out", flush=True)
            time.sleep(0.02)
    except KeyboardInterrupt:
        pass
    finally:
        bus.stop()
    return 0


def cmd_read_id(args: argparse.Namespace) -> int:
    from drivers.idcard.driver import IdCardReader

    reader = IdCardReader(args.port, baudrate=args.baud or 115200)
    try:
        deadline = time.monotonic() + args.wait
        card = reader.read_card()
        while card is None and time.monotonic() < deadline:
            time.sleep(0.2)
            card = reader.read_card()
    finally:
        reader.close()
    if card is None:
        print("读卡器正常，但没有身份证。请把身份证平放在读卡区。 / Reader OK, but no card: lay the ID card on the reader.")
        return 1
    today = date.today()
    print(f"身份证号 ID:   {mask_number(card.id_number)}")
    print(f"姓名 name:     {mask_name(card.name)}")
    print(f"性别 sex:      {'男 M' if card.sex == '1' else '女 F'}    年龄 age: {age_on(card.id_number, today)}")
    print(f"民族 nation:   {card.nation_name}")
    print(f"有效期 valid:  {card.valid_from} – {card.valid_to}{'  已过期 EXPIRED' if card.expired(today) else ''}")
    return 0


def cmd_test_print(args: argparse.Namespace) -> int:
    """Render a sample slip through the printer simulator (and a real printer with --printer)."""
    from pathlib import Path

    from drivers.printer import layouts as lay
    from drivers.printer.fonts import missing_glyphs
    from drivers.printer.render import render
    from drivers.printer.simulator import PrinterSimulator
    from kiosk.clock import HallClock, parse_now
    from kiosk.config_files import load_config
    from kiosk.domain import codes
    from kiosk.hall import issuing
    from kiosk.hall.datadir import open_hall

    config = load_config(Path(args.config))
    clock = HallClock(config.calendar.tz, parse_now(args.now, config.calendar.tz) if args.now else None)
    now = clock.now()
    service = open_hall(config, Path(args.data))
    try:
        when = f"{config.calendar.local(now):%Y-%m-%d %H:%M}"
        business = config.businesses[min(1, len(config.businesses) - 1)]
        if args.layout == "ticket":
            ticket = issuing.issue_test_ticket(service, now, "test-print")
            elements = lay.ticket(lay.TicketSlip(config.name, ticket["number"], f"测试小票 Test slip · {business.name}",
                                                 0, 0, "测试 TEST", when, ticket["qr"]), args.paper)
            qr = ticket["qr"]
        elif args.layout == "notice":
            elements = lay.notice(lay.NoticeSlip(config.name, "N-TEST", business.name,
                                                 [m.name for m in business.materials[:3]], config.windows[0].number,
                                                 "TEST", when, "测试 TEST", business.time_limit_days), args.paper)
            qr = ""
        elif args.layout == "matter":
            qr = codes.matter_qr(service.code_key, config.hall_id, "M-TEST")
            elements = lay.matter(lay.MatterSlip(config.name, "M-TEST", config.matters.categories[0].name, when,
                                                 "（测试）", qr), args.paper)
        else:
            code = codes.AppointmentCode(config.hall_id, "B-TEST", "booking", business.code, 946684800, 946686600, "")
            qr = codes.appointment_qr(service.code_key, code)  # a slot in 2000: can never be checked in
            elements = lay.booking(lay.BookingSlip(config.name, business.name, "测试 Test 2000年01月01日", "09:00–09:30",
                                                   "测试 TEST", qr, config.booking.checkin_early_minutes,
                                                   config.booking.checkin_late_minutes),
                                   args.paper)
    finally:
        service.store.close()
    data = render(elements, args.mode, args.paper)
    texts = " ".join(e.text for e in elements if isinstance(e, lay.Line))
    missing = missing_glyphs(texts)
    if missing:
        print(f"⚠ 字体缺少这些字 the font lacks: {''.join(sorted(missing))}")
    sim = PrinterSimulator(args.paper)
    sim.feed(data)
    sim.save_png(args.png)
    print(f"已生成测试小票 test slip rendered: {args.png} ({args.layout}, {args.paper} mm, {args.mode} mode, "
          f"{len(data)} bytes)")
    if qr:
        print(f"二维码 QR: {qr}")
    if args.printer:
        from drivers.printer.ports import send

        send(args.printer, data)
        print(f"已发送到打印机 sent to {args.printer}")
    return 0


def cmd_scan(args: argparse.Namespace) -> int:
    """Wait for one code from a serial scanner, or read the codes in an image; ID numbers shown masked."""
    from kiosk.domain.text import scrub

    if args.image:
        import cv2

        from drivers.scanner.camera import decode_frame

        frame = cv2.imread(args.image)
        if frame is None:
            print(f"✗ 无法读取图片 cannot read the image: {args.image}", file=sys.stderr)
            return 1
        codes = decode_frame(frame)
    else:
        from drivers.scanner.serial_scanner import SerialScanner

        suffix = {"cr": b"\r", "lf": b"\n", "crlf": b"\r\n"}[args.suffix]
        scanner = SerialScanner(args.port, baudrate=args.baud, suffix=suffix)
        scanner.open()
        print(f"请扫码 scan a code now ({args.port}, {args.baud} baud)…", flush=True)
        try:
            code = scanner.read_code(args.wait)
        finally:
            scanner.close()
        codes = [code] if code else []
    if not codes:
        print("没有读到二维码或条码 / no code read. 扫码枪亮灯了吗？检查波特率和后缀设置。", file=sys.stderr)
        return 1
    for code in codes:
        print(f"读到 read: {scrub(code)}")
    return 0


def add_parsers(devices: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ports = devices.add_parser("ports", help="list serial ports")
    ports.set_defaults(func=cmd_ports)

    sim = devices.add_parser("simulate", help="run a device simulator on a pseudo-terminal")
    sim.add_argument("device", choices=["keypad", "idcard", "scanner"])
    sim.add_argument("--addresses", default="1", help="keypad addresses, e.g. 1,2,3")
    sim.add_argument("--noise", type=float, default=0.0, help="probability of line noise before a reply")
    sim.add_argument("--drop", type=float, default=0.0, help="probability of a dropped reply")
    sim.add_argument("--corrupt", type=float, default=0.0, help="probability of a corrupted checksum")
    sim.set_defaults(func=cmd_simulate)

    probe = devices.add_parser("probe", help="say what answers on a port")
    probe.add_argument("device", choices=["all", "keypad", "idcard", "printer"])
    probe.add_argument("--port", help="the device's port (printer: its URL, e.g. network://10.0.0.5:9100)")
    probe.add_argument("--devices", default="config/devices.toml", help="for 'all': the terminal's devices.toml")
    probe.add_argument("--addresses", default="1")
    probe.add_argument("--baud", type=int)
    probe.set_defaults(func=cmd_probe)

    watch = devices.add_parser("watch-keypad", help="show keypad presses live")
    watch.add_argument("--port", required=True)
    watch.add_argument("--addresses", default="1")
    watch.add_argument("--baud", type=int)
    watch.add_argument("--arm", action="store_true", help="ask every keypad for a rating (test mode)")
    watch.add_argument("--count", type=int, help="exit after this many presses")
    watch.set_defaults(func=cmd_watch_keypad)

    test = devices.add_parser("test-print", help="render a sample slip through the printer simulator")
    test.add_argument("--layout", required=True, choices=["ticket", "notice", "matter", "booking"])
    test.add_argument("--png", required=True, help="where to write the rendered slip")
    test.add_argument("--paper", type=int, choices=[58, 80], default=80)
    test.add_argument("--mode", choices=["text", "raster"], default="text",
                      help="text: GB18030 in the printer's Chinese mode; raster: drawn with the CJK font")
    test.add_argument("--printer", help="also print on a real printer: network://host:9100, serial:///dev/ttyUSB0 …")
    test.add_argument("--now", help="the hall clock (ISO 8601), as for kiosk hall serve")
    test.add_argument("--config", default=str(DEFAULT_CONFIG))
    test.add_argument("--data", default="data")
    test.set_defaults(func=cmd_test_print)

    scan = devices.add_parser("scan", help="read one code from a serial scanner, or the codes in an image")
    where = scan.add_mutually_exclusive_group(required=True)
    where.add_argument("--port")
    where.add_argument("--image", help="a photo or camera frame")
    scan.add_argument("--baud", type=int, default=9600)
    scan.add_argument("--suffix", choices=["cr", "lf", "crlf"], default="cr")
    scan.add_argument("--wait", type=float, default=30.0)
    scan.set_defaults(func=cmd_scan)

    read = devices.add_parser("read-id", help="read an ID card (shows masked data only)")
    read.add_argument("--port", required=True)
    read.add_argument("--baud", type=int)
    read.add_argument("--wait", type=float, default=0.0, help="seconds to wait for a card")
    read.set_defaults(func=cmd_read_id)

