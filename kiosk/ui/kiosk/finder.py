"""The "不知道办什么" helper: two or three plain questions lead a citizen to a business.

Kept as data so that a hall can read it, and so that a test can check every answer leads to a
business the catalog has.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Answer:
    zh: str
    en: str
    business: str = ""  # a leaf: the business code it leads to
    next: Question | None = None


@dataclass(frozen=True)
class Question:
    zh: str
    en: str
    answers: tuple[Answer, ...]


ROOT = Question("您今天来是为了哪件事？", "What brings you here today?", (
    Answer("买房、卖房、过户", "Buying, selling or transferring a home", next=Question(
        "房子是从哪里买的？", "Where was the home bought from?", (
            Answer("从开发商买的新房", "A new home from the developer", "C"),
            Answer("从个人手里买的二手房", "A resale home from a person", "B"),
            Answer("继承、赠与、离婚分割", "Inheritance, gift or divorce", "B"),
        ))),
    Answer("贷款、抵押", "A loan or mortgage", next=Question(
        "是要办抵押，还是贷款已还清？", "Taking out a mortgage, or has the loan been paid off?", (
            Answer("办理抵押（申请贷款）", "Register a mortgage (new loan)", "D"),
            Answer("贷款已还清，注销抵押", "Loan paid off: release the mortgage", "E"),
            Answer("买期房办预告登记", "Advance notice for an off-plan home", "F"),
        ))),
    Answer("证书上的信息要改", "Something on the certificate must change", next=Question(
        "是信息变了，还是原来登记错了？", "Has something changed, or was it recorded wrongly?", (
            Answer("姓名、地址、面积、用途变了", "Name, address, area or use changed", "G"),
            Answer("原来登记的内容有错误", "The record has a mistake", "H"),
            Answer("对别人的登记有异议", "I object to someone else's record", "J"),
        ))),
    Answer("第一次给房子或土地办证", "A first certificate for a home or land", "A"),
    Answer("查询房产登记信息", "Look up registration records", "Q"),
    Answer("之前没办成、要反映问题", "I could not get it done before", "X"),
))


def leaves(question: Question = ROOT) -> list[str]:
    out: list[str] = []
    for answer in question.answers:
        if answer.next is not None:
            out += leaves(answer.next)
        else:
            out.append(answer.business)
    return out
