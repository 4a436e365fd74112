"""Ticket limits against scalpers (R1). Pure: the store gathers the facts, this decides.

Every refusal says why and what the citizen can do instead, because the person reading
it is standing at a kiosk with nobody to ask.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from kiosk.domain.config import Limits
from kiosk.domain.errors import fail


@dataclass(frozen=True)
class PersonFacts:
    """Today's history of one identity (by keyed hash)."""

    tickets_today: int
    tickets_in_business: int
    no_shows_today: int
    last_no_show_at: datetime | None
    blocklist_reason: str | None


@dataclass(frozen=True)
class AgentFacts:
    principals_today: frozenset[str]


def check_person(limits: Limits, who: str, facts: PersonFacts, now: datetime) -> None:
    """``who`` is how the refusal names the person: "您" or "被代办人 张*三"."""
    if facts.blocklist_reason is not None:
        raise fail("BLOCKLISTED", f"{who}的身份已被本大厅限制取号。如有疑问，请到服务台（值班台）咨询。",
                   "This identity may not take tickets at this hall. Please ask at the duty desk.")
    if (
        limits.no_show_cooldown_minutes
        and facts.last_no_show_at is not None
        and facts.no_shows_today >= limits.no_show_cooldown_after
    ):
        until = facts.last_no_show_at + timedelta(minutes=limits.no_show_cooldown_minutes)
        if now < until:
            minutes = max(1, math.ceil((until - now).total_seconds() / 60))
            raise fail("NO_SHOW_COOLDOWN",
                       f"{who}今天有过号记录，请在 {minutes} 分钟后（{until:%H:%M} 以后）再取号；"
                       "如有特殊情况，请到服务台说明。",
                       f"A called ticket was missed today; you can take a new ticket after {until:%H:%M} "
                       f"(in {minutes} min), or explain at the service desk.", retry_after_min=minutes)
    if facts.tickets_in_business >= limits.per_person_per_business:
        raise fail("BUSINESS_LIMIT",
                   f"{who}今天已取过该业务的号（每人每项业务每天限 {limits.per_person_per_business} 个）。"
                   "请使用已取的号等候；如小票丢失，可在取号机“补打小票”。",
                   f"A ticket for this business was already taken today (limit "
                   f"{limits.per_person_per_business}). Please wait with that ticket; a lost slip can be reprinted "
                   "at the kiosk.", limit=limits.per_person_per_business)
    if facts.tickets_today >= limits.per_person_per_day:
        raise fail("DAILY_LIMIT",
                   f"{who}今天已取号 {facts.tickets_today} 个，达到每人每天 {limits.per_person_per_day} 个的上限。"
                   "如需办理更多业务，请到窗口一并说明，或明天再来。",
                   f"The daily limit of {limits.per_person_per_day} tickets per person is reached. Ask at the "
                   "window to handle more matters together, or come back tomorrow.", limit=limits.per_person_per_day)


def check_agent(limits: Limits, facts: AgentFacts, principals: list[str]) -> None:
    total = facts.principals_today | set(principals)
    if len(total) > limits.agent_principals_per_day:
        raise fail("AGENT_LIMIT",
                   f"代办人每天最多为 {limits.agent_principals_per_day} 位当事人取号，今天已达上限。"
                   "请当事人本人取号，或明天再来。",
                   f"An agent may take tickets for at most {limits.agent_principals_per_day} people a day. "
                   "The people concerned can take tickets themselves, or come back tomorrow.",
                   limit=limits.agent_principals_per_day)


def check_kiosk_burst(limits: Limits, recent_typed: set[str], holder: str, paused: bool = False) -> None:
    """``recent_typed``: the distinct identities typed at this kiosk within the burst window. ``paused``: the
    kiosk burst within the last ``minutes``: typed entry stays paused for them (not only until the oldest typed
    number ages out of the window), so that someone typing on and on gets no more than the first few."""
    burst = limits.kiosk_burst
    if burst is None or holder in recent_typed:
        return
    if paused or len(recent_typed) >= burst.identities:
        raise fail("KIOSK_BURST",
                   f"本机在 {burst.minutes} 分钟内已手工输入 {len(recent_typed)} 位不同人的身份证号，暂停手工输入取号。"
                   "请将本人身份证放在读卡区取号（刷证不受影响），或到服务台由工作人员协助。",
                   f"{len(recent_typed)} different ID numbers were typed at this kiosk within {burst.minutes} minutes, "
                   "so typed entry is paused here. Lay your own ID card on the reader (that still works), or ask staff "
                   "at the service desk.")
