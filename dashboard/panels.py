"""Home panels of the staff dashboard: what the front desk and a doctor need first thing.

Each panel reads through booking's selectors in a fixed number of queries, however many
appointments there are.
"""

from __future__ import annotations

from django.db.models import Count, Min, Q
from django.utils import timezone
from wagtail.admin.ui.components import Component

from booking import selectors
from booking.models import Status
from clinic_site.policies import clinic_tz
from doctors.models import Doctor

from .permissions import own_doctor

PANEL_ROWS = 8


def _today_bounds():
    today = timezone.localdate(timezone.now(), clinic_tz())
    return today, *selectors.local_day_range(today)


class FrontDeskPanel(Component):
    """Receptionists and administrators: today's arrivals, requests to confirm, the queues."""

    name = "clinic_front_desk"
    template_name = "dashboard/panels/front_desk.html"
    order = 10

    def get_context_data(self, parent_context):
        request = parent_context["request"]
        context = super().get_context_data(parent_context)
        today, lo, hi = _today_bounds()
        visible = selectors.appointments_visible_to(request.user)
        arrivals = visible.filter(status=Status.CONFIRMED, start__gte=lo, start__lt=hi).order_by(
            "start"
        )
        requests = visible.filter(status=Status.REQUESTED, start__gte=timezone.now()).order_by(
            "start"
        )
        queues = (
            Doctor.objects.filter(is_active=True)
            .annotate(
                waiting=Count(
                    "appointments",
                    filter=Q(
                        appointments__status=Status.CHECKED_IN,
                        appointments__called_at__isnull=True,
                        appointments__start__gte=lo,
                        appointments__start__lt=hi,
                    ),
                ),
                with_doctor=Count(
                    "appointments",
                    filter=Q(
                        appointments__status=Status.CHECKED_IN,
                        appointments__called_at__isnull=False,
                        appointments__start__gte=lo,
                        appointments__start__lt=hi,
                    ),
                ),
                waiting_since=Min(
                    "appointments__checked_in_at",
                    filter=Q(
                        appointments__status=Status.CHECKED_IN,
                        appointments__called_at__isnull=True,
                        appointments__start__gte=lo,
                        appointments__start__lt=hi,
                    ),
                ),
                today_total=Count(
                    "appointments",
                    filter=Q(appointments__start__gte=lo, appointments__start__lt=hi)
                    & ~Q(appointments__status__in=[Status.CANCELLED, Status.RELEASED]),
                ),
            )
            .order_by("name")
        )
        context.update(
            today=today,
            arrivals=list(arrivals[:PANEL_ROWS]),
            arrivals_count=arrivals.count(),
            requests=list(requests[:PANEL_ROWS]),
            requests_count=requests.count(),
            queues=[q for q in queues if q.today_total or q.waiting or q.with_doctor],
            request=request,
            csrf_token=parent_context.get("csrf_token"),
        )
        return context


class DoctorPanel(Component):
    """A doctor: today's schedule, the queue with live waiting times, pending requests and the
    consultation records still to finish."""

    name = "clinic_doctor_day"
    template_name = "dashboard/panels/doctor.html"
    order = 10

    def get_context_data(self, parent_context):
        request = parent_context["request"]
        context = super().get_context_data(parent_context)
        doctor = own_doctor(request.user)
        today, lo, hi = _today_bounds()
        mine = selectors.appointments_visible_to(request.user)
        schedule = list(
            mine.filter(start__gte=lo, start__lt=hi)
            .exclude(status__in=[Status.HELD, Status.CANCELLED])
            .order_by("start")
        )
        queue = [a for a in schedule if a.status == Status.CHECKED_IN]
        queue.sort(key=lambda a: (a.queue_position or 0, a.checked_in_at))
        requests = mine.filter(status=Status.REQUESTED, start__gte=timezone.now()).order_by("start")
        unfinished = _unfinished_records(request.user)
        context.update(
            doctor=doctor,
            today=today,
            schedule=schedule,
            queue=queue,
            anyone_waiting=any(a.called_at is None for a in queue),
            requests=list(requests[:PANEL_ROWS]),
            requests_count=requests.count(),
            unfinished=unfinished,
            request=request,
            csrf_token=parent_context.get("csrf_token"),
        )
        return context


def _unfinished_records(user) -> list:
    """The doctor's checked-in or completed visits whose record is missing or still a draft."""
    try:
        from records.selectors import unfinished_records
    except ImportError:  # pragma: no cover - records app without the selector
        return []
    return list(unfinished_records(user)[:PANEL_ROWS])
