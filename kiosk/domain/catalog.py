"""Business types, their official materials and time limits, and the fee schedule.

Fees follow 发改价格规〔2016〕2559号 and nothing else (requirements R4: no other fee may
appear). Amounts are held in fen so that half fees never meet floating point.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.domain.errors import fail

FEE_KINDS = ("standard", "half", "free", "none")
PROPERTY_KINDS = ("residential", "non_residential")


@dataclass(frozen=True)
class Material:
    id: str
    name: str
    name_en: str


@dataclass(frozen=True)
class Business:
    code: str  # the ticket prefix letter
    key: str
    name: str
    name_en: str
    materials: tuple[Material, ...]
    time_limit_days: int
    fee: str  # one of FEE_KINDS
    certificates: bool  # whether the business issues a certificate (工本费 applies)
    service_minutes: float  # the estimate used before the hall has its own history
    description: str = ""

    def material(self, material_id: str) -> Material | None:
        return next((m for m in self.materials if m.id == material_id), None)


@dataclass(frozen=True)
class Reduction:
    id: str
    name: str
    name_en: str
    effect: str  # "free" or "half"
    basis: str


@dataclass(frozen=True)
class FeeSchedule:
    residential_fen: int
    non_residential_fen: int
    extra_certificate_fen: int
    basis: str
    reductions: tuple[Reduction, ...]

    def reduction(self, rid: str) -> Reduction | None:
        return next((r for r in self.reductions if r.id == rid), None)


@dataclass(frozen=True)
class FeeItem:
    name: str
    name_en: str
    amount_fen: int
    basis: str

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "name_en": self.name_en,
            "amount_yuan": yuan(self.amount_fen),
            "basis": self.basis,
        }


def yuan(fen: int) -> int | float:
    return fen // 100 if fen % 100 == 0 else fen / 100


def quote_fee(
    business: Business,
    schedule: FeeSchedule,
    property_kind: str,
    certificates: int,
    reductions: list[str],
) -> tuple[list[FeeItem], int]:
    """The official fee for one case: items and total in fen."""
    if property_kind not in PROPERTY_KINDS:
        raise fail("PROPERTY_KIND_INVALID")
    if not isinstance(certificates, int) or isinstance(certificates, bool) or not 0 <= certificates <= 100:
        raise fail("CERTIFICATES_INVALID")
    chosen: list[Reduction] = []
    for rid in reductions:
        red = schedule.reduction(rid)
        if red is None:
            raise fail("REDUCTION_UNKNOWN", f"没有名为“{rid}”的减免政策。", f"There is no reduction called '{rid}'.",
                       reduction=rid)
        chosen.append(red)
    if business.fee == "none":
        return [FeeItem("本业务不收取登记费", "No registration fee for this business", 0, schedule.basis)], 0
    if business.fee == "free":
        return [FeeItem(f"{business.name}免收登记费", f"{business.name_en}: exempt", 0, schedule.basis)], 0
    if any(r.effect == "free" for r in chosen):
        red = next(r for r in chosen if r.effect == "free")
        return [FeeItem(f"{red.name}：免收登记费", f"{red.name_en}: exempt", 0, red.basis)], 0
    base = schedule.residential_fen if property_kind == "residential" else schedule.non_residential_fen
    kind_zh = "住宅类" if property_kind == "residential" else "非住宅类"
    kind_en = "residential" if property_kind == "residential" else "non-residential"
    items = [FeeItem(f"{kind_zh}不动产登记费（每件，含第一本证书工本费）",
                     f"{kind_en} registration fee per case (first certificate included)", base,
                     schedule.basis)]
    halves = [r for r in chosen if r.effect == "half"]
    if business.fee == "half" or halves:
        basis = halves[0].basis if halves and business.fee != "half" else schedule.basis
        label = halves[0].name if halves and business.fee != "half" else business.name
        items.append(FeeItem(f"{label}：减半收取", "half fee", -(base // 2), basis))
    if business.certificates and certificates > 1:
        extra = certificates - 1
        items.append(FeeItem(f"加收证书工本费 {extra} 本 × 10元",
                             f"{extra} extra certificate(s) at 10 yuan", extra * schedule.extra_certificate_fen,
                             schedule.basis))
    return items, sum(i.amount_fen for i in items)
