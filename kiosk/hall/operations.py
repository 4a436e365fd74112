"""The hall's operations, one table: each typed request (kiosk/contract/requests.py) and the plain function
that carries it out, ``(ctx, call, req) -> Outcome``. kiosk/contract/routes.py says how each is reached over
HTTP (method, path, roles, kind); kiosk/hall/api.py joins the two. A request is found here in one step, and
its function in the module named beside it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kiosk.contract import requests as r
from kiosk.contract.routes import ROUTES
from kiosk.hall import appeals, booking, casework, counter, enrolment, feedback, issuing, reads, supervision
from kiosk.hall.context import Call, HallContext
from kiosk.hall.outcomes import Outcome

Operation = Callable[[HallContext, Call, Any], Outcome]

OPERATIONS: dict[type[Any], Operation] = {
    **reads.READS,
    # devices and clerks
    r.RedeemCode: enrolment.op_redeem_code,
    r.Login: enrolment.op_login,
    # the citizen at the kiosk
    r.IssueTicket: issuing.op_issue,
    r.Reprint: issuing.op_reprint,
    r.CheckIn: booking.op_check_in,
    r.AcceptBooking: booking.op_accept_booking,
    r.QueryCase: casework.op_query_case,
    r.Rate: feedback.op_rate,
    r.PhoneRate: feedback.op_rate_phone,
    r.ReportMatter: feedback.op_report_matter,
    r.CallStaff: feedback.op_call_staff,
    # the window
    r.CallNext: counter.op_call_next,
    r.CallTicket: counter.op_call,
    r.Recall: counter.op_recall,
    r.NoShow: counter.op_no_show,
    r.StartService: counter.op_start,
    r.Notice: counter.op_notice,
    r.Transfer: counter.op_transfer,
    r.Finish: counter.op_finish,
    r.Pause: counter.op_pause,
    r.Resume: counter.op_resume,
    r.Logout: counter.op_logout,
    # the duty desk and the registration system
    r.TransitionMatter: feedback.op_transition_matter,
    r.EscalateOverdue: feedback.op_escalate_overdue,
    r.CaseProgress: casework.op_case_progress,
    r.CreateAppointment: booking.op_create_appointment,
    r.Blocklist: supervision.op_blocklist_add,
    r.ExtendHours: supervision.op_extend_hours,
    r.OpenTemporary: supervision.op_open_temporary,
    r.WindowLeaves: supervision.op_window_leaves,
    r.CloseFollowup: supervision.op_close_followup,
    r.AppealRating: appeals.op_appeal_rating,
    r.DecideAppeal: appeals.op_decide_appeal,
}

assert set(OPERATIONS) == {route.request for route in ROUTES}, "every route has its operation and no more"
