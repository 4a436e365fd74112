"""The Chinese names of the hall's codes, one place for every screen and page that shows them."""

from __future__ import annotations

RATING_LEVELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
RATING_LEVELS_EN = {5: "Very satisfied", 4: "Satisfied", 3: "Fair", 2: "Dissatisfied", 1: "Very dissatisfied"}
# what a citizen may tick with a bad rating, the same at the kiosk and on the phone
RATING_REASONS = ("等候时间太长", "服务态度不好", "反复要求补材料", "办理效率低")

# the same states in the words the citizen who reported reads at the kiosk
MATTER_STATUS_FOR_CITIZENS = {"opened": "已登记", "claimed": "专人办理中", "resolved": "已解决", "called_back": "已回访",
                              "closed": "已办结"}
FOLLOWUP_STATUS = {"opened": "跟进中", "overdue": "已逾期", "closed": "已办结", "overturned": "申诉复核已撤销"}

MATTER_STATUS = {"opened": "待领办", "claimed": "办理中", "resolved": "已解决待回访", "called_back": "已回访待销号",
                 "closed": "已销号"}

EXCEPTION_KINDS = {"out_of_order_call": "不按顺序叫号", "identity_mismatch": "人证不一致",
                   "identity_override": "人证不一致仍办理", "transfer": "转办", "repeat_notice": "重复告知",
                   "extend_hours": "延时服务", "temporary_window": "临时开窗", "blocklist_add": "列入黑名单",
                   "pause": "暂停服务", "data_read": "查阅登记数据", "rating_refused": "非本人评价被拒",
                   "rating_appealed": "差评申诉", "rating_appeal_decided": "差评申诉复核"}
APPEAL_STATES = {"none": "", "appealed": "申诉中", "upheld": "申诉复核：维持", "overturned": "申诉复核：已撤销"}
