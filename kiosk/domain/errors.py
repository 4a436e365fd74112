"""The product's errors: one root, one catalogue.

Every refusal the product gives has a stable, machine-readable code (hall-api.md), one HTTP status, and a
default text a citizen, clerk or supervisor reads, Chinese first. The catalogue below is the only place
a code's status is decided, so that a front end, the hall and the ledger answer the same refusal the same
way. A call site may give a more precise text (what the limit is, when to come back), never another status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class KioskError(Exception):
    """The root of the product's own errors (refusals, storage, configuration, devices, sync), so that a
    front end can tell what the product meant from what went wrong underneath."""


@dataclass(frozen=True)
class Code:
    status: int
    zh: str
    en: str


CATALOGUE: dict[str, Code] = {
    "ACCOUNT_LOCKED": Code(429, "多次登录失败，账号已暂时锁定，请稍后再试。",
                           "Too many failed sign-ins; the account is locked for a while."),
    "APPEAL_INVALID": Code(409, "这条评价当前不能申诉或作出复核结论。", "The rating cannot be appealed or decided now."),
    "AGENT_LIMIT": Code(409, "代办人今天代办的当事人已达上限。", "The agent has reached today's limit of people represented."),
    "BAD_HASH": Code(422, "事件的哈希与内容不符。", "An event's hash does not match its content."),
    "BAD_JSON": Code(422, "请求内容应为 JSON 对象。", "The body must be a JSON object."),
    "BAD_REQUEST": Code(422, "请求格式不正确。", "The request is malformed."),
    "BAD_SIGNATURE": Code(422, "批次签名无效。", "The batch's signature is not valid."),
    "BAD_TEXT": Code(422, "文字中有无法识别的字符，请重新输入。",
                     "The text contains a character that cannot be read (a lone surrogate)."),
    "BATCH_INVALID": Code(422, "批次应为 {events: [...], signature}，且至少含一个事件。",
                          "A batch is {events: [...], signature} with at least one event."),
    "BLOCKLISTED": Code(409, "此身份已被本大厅限制取号，请到服务台咨询。",
                        "This identity may not take tickets here; ask at the duty desk."),
    "BODY_INVALID": Code(422, "请求体应为 {hall, public_key}。", "The body is {hall, public_key}."),
    "BODY_TOO_LARGE": Code(413, "请求内容过大。", "The request body is too large."),
    "BOOKING_EXISTS": Code(409, "您已有这项业务的预约，请按预约时间签到办理；每人每项业务只能保留一个预约。",
                           "You already hold a booking for this business; one open booking per person and business."),
    "BUSINESSES_REQUIRED": Code(422, "请选择这个窗口临时加办的业务。", "Choose the businesses this window takes on."),
    "BUSINESS_LIMIT": Code(409, "今天已取过该业务的号。", "Already took a ticket for this business today."),
    "CARD_REQUIRED": Code(409, "这个预约需要刷预约人本人的身份证签到。",
                          "This booking is checked in only with the holder's own ID card."),
    "CASE_NOT_FOUND": Code(404, "没有查到与您身份相符的这个办件编号，请核对受理回执上的编号，或到服务台咨询。",
                           "No case with this number for this identity. Check the number on your receipt, or ask staff."),
    "CASE_NUMBER_INVALID": Code(422, "办件编号是受理回执上的12位数字。", "The case number is the 12 digits on your receipt."),
    "CATEGORY_UNKNOWN": Code(422, "请选择问题类别。", "Choose a category."),
    "CERTIFICATES_INVALID": Code(422, "证书本数应为0到100之间的整数。", "certificates must be a whole number from 0 to 100."),
    "CHAIN_FORK": Code(409, "账本中已有不同的事件，需要人工核对。",
                       "The ledger holds a different event at this position; a person must look."),
    "CHAIN_GAP": Code(409, "批次与账本的链头不连续。", "The batch does not continue the ledger's chain head."),
    "CHECKIN_TOO_EARLY": Code(409, "还没到签到时间。", "Too early to check in."),
    "CHECKIN_TOO_LATE": Code(409, "已超过签到时间，请现场取号或重新预约。", "Too late to check in; take a ticket or book again."),
    "CHECKIN_USED": Code(409, "这个预约已经签到过了，请使用签到时取得的号。如小票丢失，可补打。",
                         "This appointment was already checked in; use that ticket (a lost slip can be reprinted)."),
    "CLERK_LOCKED": Code(423, "PIN 连续输错次数过多，账号已锁定。请联系值班台。",
                         "Too many wrong PINs; the account is locked. Ask the duty desk."),
    "CONTACT_INVALID": Code(422, "联系电话格式不正确，可以不填。", "The phone number is not valid (optional)."),
    "CSRF": Code(403, "请求来源无法确认，未退出。", "The request could not be verified."),
    "DAILY_LIMIT": Code(409, "今天的取号数已达每人每天上限。", "Today's per-person ticket limit is reached."),
    "DESCRIPTION_REQUIRED": Code(422, "请简单描述遇到的问题（不超过1000字）。",
                                 "Describe what happened (up to 1000 characters)."),
    "ENROLL_CODE_INVALID": Code(403, "登记码无效、已用过或已过期，请向大厅管理员重新获取。",
                                "The enrolment code is wrong, used or expired; ask the hall for a new one."),
    "ENROLL_LOCKED": Code(429, "登记码输错次数过多，请稍后再试，或联系大厅管理员。",
                          "Too many wrong enrolment codes; try again later, or ask the hall's administrator."),
    "FOLLOWUP_CLOSED": Code(409, "这条差评已办结。", "This follow-up is already closed."),
    "FOLLOWUP_NOT_FOUND": Code(404, "没有这条差评跟进记录。", "No such follow-up."),
    "FORBIDDEN": Code(403, "只能读取本大厅的数据。", "A hall token reads only its own hall."),
    "HALL_CLOSED": Code(409, "今天不是办公日，不能延时。", "The hall does not open today."),
    "HALL_EXISTS": Code(409, "这个大厅已登记。", "This hall is already registered."),
    "HALL_INVALID": Code(422, "大厅编号只能含字母、数字、点、横线和下划线。", "hall ids are letters, digits, '.', '-' and '_'."),
    "HALL_UNKNOWN": Code(404, "账本中没有这个大厅。", "No such hall in the ledger."),
    "HTTP_ERROR": Code(400, "请求无法处理。", "The request cannot be handled."),
    "IDENTITY_MISMATCH": Code(409, "来人与取号人不一致（人证不符）。请核实；确需办理的，填写原因后继续，原因将被记录。",
                              "The person is not the ticket's holder. Check; to serve anyway, give a reason (it is recorded)."),
    "ID_EXPIRED": Code(422, "身份证已过期，不能用于取号或办理。", "The ID card has expired."),
    "ID_INVALID": Code(422, "身份证有效期格式不正确，请重新读卡。", "valid_until must be a date (YYYY-MM-DD) or 长期."),
    "INTERNAL": Code(500, "系统内部错误，已记录。请重试或联系工作人员。", "Internal error; it was logged. Retry or ask staff."),
    "KIOSK_BURST": Code(409, "本机手工输入取号过于频繁，请刷身份证取号。",
                        "Too many typed IDs at this kiosk; lay the ID card on the reader."),
    "LEVEL_INVALID": Code(422, "评价等级应为1到5。", "level must be 1 to 5."),
    "LOGIN_INVALID": Code(422, "登录名只能含字母、数字、点、横线和下划线（2到40位）。",
                          "A login is 2-40 letters, digits, '.', '-' or '_'."),
    "MATERIAL_UNKNOWN": Code(422, "材料不在本业务的材料目录中。", "A material is not in this business's list."),
    "MATTER_NOT_FOUND": Code(404, "没有这个问题编号，请核对。", "No matter with this number."),
    "METHOD_NOT_ALLOWED": Code(405, "不支持这种请求方式。", "Method not allowed."),
    "MISSING_REQUIRED": Code(422, "请勾选缺少的材料。", "Tick the missing materials."),
    "NAME_INVALID": Code(422, "姓名格式不正确，请重新输入。", "The name is not valid; type it again."),
    "NOT_FOUND": Code(404, "没有这个接口。", "No such endpoint."),
    "NOT_RATABLE": Code(409, "这个号的服务还没有办结，办结后才能评价。",
                        "The service of this ticket has not finished yet; rate it after it ends."),
    "NO_CURRENT_TICKET": Code(409, "本窗口当前没有可操作的号。", "This window has no ticket in that state."),
    "NO_SHOW_COOLDOWN": Code(409, "今天有过号记录，请稍后再取号。", "A no-show today: take a new ticket a little later."),
    "OFFER_EXPIRED": Code(409, "这个预约名额已失效，请重新取号。", "The offer has expired; take a ticket again."),
    "OFFER_NOT_FOUND": Code(404, "没有找到这个预约名额，请重新取号。", "No such booking offer; take a ticket again."),
    "PASSWORD_WEAK": Code(422, "密码至少10位。", "The password needs at least 10 characters."),
    "PIN_INVALID": Code(401, "工号或 PIN 不正确。", "Wrong clerk id or PIN."),
    "PRINCIPALS_REQUIRED": Code(422, "代办取号需要录入被代办人（当事人）的身份信息。",
                                "An agent ticket needs the identities of the people represented."),
    "PRIORITY_INVALID": Code(422, "优先类别不正确。", "Unknown priority group."),
    "PRIORITY_NOT_ELIGIBLE": Code(422, "不符合优先条件，请选择普通取号。",
                                  "Not eligible for this priority; take a normal ticket."),
    "PRESS_TIME_INVALID": Code(422, "评价器按键时间不正确。", "The keypad press time is not valid for this service."),
    "PROPERTY_KIND_INVALID": Code(422, "房屋类型应为住宅或非住宅。", "property_kind must be residential or non_residential."),
    "PUBLIC_KEY_INVALID": Code(422, "公钥格式不对：应为 kiosk hall public-key 打印的 ed25519:… 一行。",
                               "The public key must be the ed25519:… line printed by kiosk hall public-key."),
    "QR_INVALID": Code(422, "二维码无效，请使用本大厅打印的小票，或到服务台咨询。", "The QR code is not valid here."),
    "QUERY_INVALID": Code(422, "参数 by 应为 hall、window 或 clerk。", "by is hall, window or clerk."),
    "QUEUE_EMPTY": Code(404, "本窗口的业务目前没有人等候。", "Nobody is waiting for this window's businesses."),
    "RATING_CLOSED": Code(409, "这次服务的评价时间已过。", "Ratings for this service are closed."),
    "RATING_EXISTS": Code(409, "这次服务已经评价过了，每次服务只能评价一次。谢谢您！",
                          "This service was already rated; one rating per service. Thank you!"),
    "RATING_NEEDS_SLIP": Code(403, "请扫描小票上的二维码，或刷本人身份证后评价：仅凭号码不能评价。",
                              "Scan the slip's QR code, or lay the holder's ID card: a ticket number alone cannot rate."),
    "RATING_NOT_FOUND": Code(404, "没有这条评价。", "No such rating."),
    "RATING_NOT_YOURS": Code(403, "这次服务不能由本设备评价：评价只能由办事群众本人作出。",
                             "This device cannot rate this service: only the citizen who was served rates it."),
    "REASON_REQUIRED": Code(422, "此操作必须填写原因，原因会被记录。", "A reason is required and will be recorded."),
    "RECALL_FIRST": Code(409, "请先重呼，呼叫次数够了才能标记过号。", "Recall first; mark a no-show after enough calls."),
    "REDUCTION_UNKNOWN": Code(422, "没有这项减免政策。", "Unknown fee reduction."),
    "REGION_INVALID": Code(422, "市县监管账号需要行政区划代码，如 3701。",
                           "A region account needs its region code, such as 3701."),
    "ROLE_INVALID": Code(422, "令牌角色应为 supervisor。", "role must be supervisor."),
    "SESSION_INVALID": Code(401, "请先在本窗口用工号和 PIN 登录。", "Log in at this window with clerk id and PIN first."),
    "SIGN_IN_FAILED": Code(401, "登录名或密码不正确。", "Wrong login or password."),
    "SOURCE_INVALID": Code(422, "评价来源应为 keypad、kiosk 或 phone。", "source must be keypad, kiosk or phone."),
    "STAGE_BACKWARDS": Code(409, "办件只能向后推进。", "A case only moves forward."),
    "STAGE_UNKNOWN": Code(422, "办件阶段不正确。", "Unknown case stage."),
    "STORE_UNAVAILABLE": Code(503, "系统暂时无法保存，请稍后重试或联系工作人员。",
                              "The hall cannot save right now; retry shortly or ask staff."),
    "TICKET_NOT_FOUND": Code(404, "今天没有这个号，请核对号码。", "No ticket with this number today; check the number."),
    "TICKET_NOT_WAITING": Code(409, "这个号当前不能呼叫。", "This ticket cannot be called now."),
    "TRANSITION_INVALID": Code(409, "这个问题不能转到这一步。", "The matter cannot move to this state."),
    "UNAUTHORIZED": Code(401, "设备未登记或令牌无效，请联系技术人员登记设备。",
                         "Unknown device token; ask a technician to enroll this device."),
    "UNKNOWN_BUSINESS": Code(422, "没有这项业务。", "Unknown business. See GET /api/v1/catalog for the list."),
    "UNTIL_INVALID": Code(422, "请填写延长到的时间，如 18:30。", "until must be a time such as 18:30."),
    "WINDOW_BUSY": Code(409, "请先办结或标记过号当前的号。", "Finish or mark the current ticket first."),
    "WINDOW_PAUSED": Code(409, "本窗口已暂停，请先恢复服务。", "The window is paused; resume first."),
    "WINDOW_UNKNOWN": Code(404, "没有这个窗口。", "There is no such window."),
}


class DomainError(KioskError):
    """A refusal by a rule, with its contract code. Build it with :func:`fail`."""

    def __init__(self, code: str, message: str, message_en: str, status: int = 409, **details: Any) -> None:
        super().__init__(f"{code}: {message_en}")
        self.code = code
        self.message = message
        self.message_en = message_en
        self.status = status
        self.details = details

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "message_en": self.message_en, **self.details}}


def fail(code: str, message: str | None = None, message_en: str | None = None, **details: Any) -> DomainError:
    """The refusal ``code`` with its catalogued status; a message given here replaces the default text."""
    entry = CATALOGUE[code]
    return DomainError(code, message or entry.zh, message_en or entry.en, status=entry.status, **details)


def bad_request(message: str, message_en: str, **details: Any) -> DomainError:
    return fail("BAD_REQUEST", message, message_en, **details)
