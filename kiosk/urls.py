"""The one check of a service address given to the product (a hall for the apps, provisioning and the drill; a
ledger for sync), parsed once: what is checked is what is connected to.

Two parsers that read one text differently are the trap. ``http://127.0.0.2:9000\\@127.0.0.1:8800``: Python's
urlparse sees user ``127.0.0.2:9000\\`` at host 127.0.0.1 (loopback, plain http allowed), while requests/urllib3
treat the backslash as the start of the path and connect to 127.0.0.2:9000 with the hall's token, in clear. So
the check refuses whatever a parser might read two ways (user info, backslashes, spaces and control characters,
percent escapes, queries and fragments, numeric hosts that are not a plain dotted IPv4, non-ASCII), builds the
address again from the parts it checked, confirms that urllib3 reads that text as the same scheme, host and port,
and callers connect to that rebuilt address only. Plain http goes to this machine only (127.0.0.0/8, ::1,
localhost) unless the operator says ``--insecure``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from kiosk.domain.errors import KioskError

_SCHEME = re.compile(r"^(https?)://", re.IGNORECASE)
_PORT = re.compile(r"^[0-9]{1,5}$")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_PATH = re.compile(r"^(/[A-Za-z0-9._~!$&'()*+,;=:-]*)*$")
DEFAULT_PORTS = {"http": 80, "https": 443}


class UrlRefused(KioskError):
    """An address the product will not connect to, with the sentence (Chinese, then English) that says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ServiceUrl:
    scheme: str  # http | https
    host: str  # lower-case name, or an IP address (IPv6 without brackets)
    port: int
    path: str  # "" or "/prefix", no trailing slash

    @property
    def loopback(self) -> bool:
        return is_loopback_host(self.host)

    def base(self) -> str:
        """The address rebuilt from the checked parts: the only text the product connects with."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if DEFAULT_PORTS[self.scheme] == self.port else f":{self.port}"
        return f"{self.scheme}://{host}{port}{self.path}"


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _refused(text: str, why_zh: str, why_en: str) -> UrlRefused:
    shown = text if len(text) <= 120 else text[:117] + "…"
    return UrlRefused(f"地址 {shown!r} 不可用：{why_zh}。 / Refusing the address {shown!r}: {why_en}.")


def _host(text: str, authority: str) -> tuple[str, int | None]:
    if authority.startswith("["):  # an IPv6 literal
        end = authority.find("]")
        if end < 0:
            raise _refused(text, "IPv6 地址缺少 ]", "an IPv6 address lacks its closing ]")
        literal, rest = authority[1:end], authority[end + 1:]
        try:
            host = str(ipaddress.IPv6Address(literal))
        except ValueError:
            raise _refused(text, "IPv6 地址不正确", "the IPv6 address is not valid") from None
    else:
        host, _, port_text = authority.partition(":")
        rest = f":{port_text}" if _ else ""
        host = host.lower()
        labels = host.split(".")
        if labels[-1].isdigit() or any(label.startswith("0x") for label in labels):
            # a numeric host (127.1, 2130706433, 0x7f.1, 0177.0.0.1): resolvers read these differently; only a
            # plain dotted IPv4 is read the same way by all of them
            try:
                host = str(ipaddress.IPv4Address(host))
            except ValueError:
                raise _refused(text, "数字形式的主机名有歧义，请写成 a.b.c.d", "a numeric host must be a plain a.b.c.d") from None
        elif not all(_LABEL.match(label) for label in host.split(".")) or len(host) > 253:
            raise _refused(text, "主机名只能含字母、数字、点和横线", "a host name is letters, digits, dots and dashes")
    if not rest:
        return host, None
    if not rest.startswith(":") or not _PORT.match(rest[1:]) or not 0 < int(rest[1:]) < 65536:
        raise _refused(text, "端口应为 1 到 65535 的数字", "the port must be a number from 1 to 65535")
    return host, int(rest[1:])


def check_url(text: object, insecure: bool = False) -> ServiceUrl:
    """The checked address, or UrlRefused saying why. ``insecure``: the operator allows plain http off this
    machine (logged by the caller)."""
    if not isinstance(text, str) or not text:
        raise UrlRefused("缺少地址 / an address is required")
    if not text.isascii() or any(ch <= " " or ch == "\x7f" for ch in text):
        raise _refused(text, "含有空白、控制字符或非 ASCII 字符（中文域名请用 punycode）",
                       "it has spaces, control or non-ASCII characters (give an IDN in punycode)")
    for ch, zh, en in (("\\", "含有反斜杠", "it contains a backslash"), ("@", "含有用户名（@），令牌可能被送往别处",
                                                                       "it carries user info (@): requests could go elsewhere"),
                       ("%", "含有百分号转义", "it contains percent escapes"), ("?", "不能带查询参数", "it has a query"),
                       ("#", "不能带 #", "it has a fragment")):
        if ch in text:
            raise _refused(text, zh, en)
    match = _SCHEME.match(text)
    if match is None:
        raise _refused(text, "应以 https:// 或 http:// 开头", "it must start with https:// or http://")
    scheme = match.group(1).lower()
    rest = text[match.end():]
    authority, slash, path = rest.partition("/")
    path = (slash + path).rstrip("/")
    if not authority:
        raise _refused(text, "缺少主机名", "it has no host")
    if not _PATH.match(path):
        raise _refused(text, "路径中有不允许的字符", "its path has characters that are not allowed")
    host, port = _host(text, authority)
    checked = ServiceUrl(scheme, host, port or DEFAULT_PORTS[scheme], path)
    _confirm(text, checked)
    if scheme == "http" and not checked.loopback and not insecure:
        raise _refused(text, "明文 http 只能连本机；请使用 https（以 --ca 指定证书颁发机构），或确认风险后加 --insecure",
                       "plain http goes to this machine only: use https (with --ca), or pass --insecure")
    return checked


def _confirm(text: str, checked: ServiceUrl) -> None:
    """urllib3, which requests connects with, must read the rebuilt address as the same scheme, host and port."""
    from urllib3.util import parse_url

    seen = parse_url(checked.base())
    host = (seen.host or "").strip("[]").lower()
    try:
        host = str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if (seen.scheme, host, seen.port or DEFAULT_PORTS.get(seen.scheme or "", 0)) != (checked.scheme, checked.host,
                                                                                    checked.port):
        raise _refused(text, "无法确认连接的主机", "the host connected to could not be confirmed")
