"""Today's queue of a doctor: checked-in patients in queue order with live waiting times.

The front desk moves patients up or down (booking.services.queue_reorder); the doctor calls the
next patient in (booking.services.queue_call_next) and goes on to the consultation record.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from booking import selectors, services
from booking.models import Status
from clinic_site.exceptions import ClinicError
from clinic_site.policies import clinic_tz
from doctors.models import Doctor

from ..permissions import is_doctor, is_front_desk, is_unlinked_doctor, require, screen_doctor
from .base import StaffView

LONG_WAIT_MINUTES = 30


def _today():
    return timezone.localdate(timezone.now(), clinic_tz())


class QueueView(StaffView):
    page_title = "Queue"
    header_icon = "group"
    template_name = "dashboard/queue/queue.html"

    def _doctor(self) -> Doctor:
        """A doctor's own queue whatever `doctor` says; the front desk's choice otherwise. A
        doctor without a doctor profile has no queue to act on."""
        doctor = screen_doctor(self.request.user, self._chosen)
        if doctor is None:
            raise Http404("No doctors yet.")
        return doctor

    def _chosen(self) -> Doctor | None:
        """The front desk's doctor: the one asked for, else the first with someone waiting."""
        wanted = self.request.GET.get("doctor") or self.request.POST.get("doctor") or ""
        doctors = Doctor.objects.filter(is_active=True).order_by("name")
        if wanted:
            if not wanted.isascii() or not wanted.isdigit():
                raise Http404("No such doctor.")
            found = doctors.filter(pk=int(wanted[:18])).first()
            if found is None:
                raise Http404("No such doctor.")
            return found
        # The first doctor with someone checked in today, else the first doctor.
        lo, hi = selectors.local_day_range(_today())
        busy = doctors.filter(
            appointments__status=Status.CHECKED_IN,
            appointments__start__gte=lo,
            appointments__start__lt=hi,
        ).first()
        return busy or doctors.first()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if is_unlinked_doctor(self.request.user):  # nobody's queue, and the page says why
            context.update(no_profile=True, entries=[], tabs=[])
            return context
        doctor = self._doctor()
        today = _today()
        entries = list(selectors.queue_for(doctor, today))
        now = timezone.now()
        tabs = []
        if is_front_desk(self.request.user):
            lo, hi = selectors.local_day_range(today)
            tabs = list(
                Doctor.objects.filter(is_active=True)
                .annotate(
                    waiting=Count(
                        "appointments",
                        filter=Q(
                            appointments__status=Status.CHECKED_IN,
                            appointments__start__gte=lo,
                            appointments__start__lt=hi,
                        ),
                    )
                )
                .order_by("name")
            )
        context.update(
            doctor=doctor,
            today=today,
            entries=[
                {
                    "appointment": a,
                    "position": index,
                    "waiting": max(0, int((now - a.checked_in_at).total_seconds() // 60))
                    if a.checked_in_at
                    else 0,
                    "called": a.called_at is not None,
                }
                for index, a in enumerate(entries, start=1)
            ],
            tabs=tabs,
            can_reorder=is_front_desk(self.request.user),
            can_call=is_doctor(self.request.user),
            anyone_waiting=any(a.called_at is None for a in entries),
            long_wait=LONG_WAIT_MINUTES,
            refresh_url=reverse("dashboard:queue") + f"?doctor={doctor.pk}",
            undo=self._undo(entries),
        )
        return context

    def _undo(self, entries) -> dict | None:
        """After a move (`?moved=<reference>&to=up|down`): who moved where, and the move back."""
        if not is_front_desk(self.request.user):
            return None
        moved, to = self.request.GET.get("moved", ""), self.request.GET.get("to", "")
        position = next((i for i, a in enumerate(entries, 1) if a.reference == moved), None)
        if position is None or to not in UNDO:
            return None
        return {
            "name": entries[position - 1].patient.full_name,
            "reference": moved,
            "to": to,
            "position": position,
            "back": UNDO[to],
        }

    def get(self, request, *args, **kwargs):
        context = self.get_context_data(**kwargs)
        if request.headers.get("X-Requested-With") == "fetch":
            return render(request, "dashboard/queue/includes/entries.html", context)
        return self.render_to_response(context)

    def post(self, request, *args, **kwargs):
        doctor = self._doctor()
        action = request.POST.get("action")
        here = reverse("dashboard:queue") + f"?doctor={doctor.pk}"
        if action == "call":
            require(is_doctor(request.user))
            try:
                called = services.queue_call_next(doctor=doctor, actor=request.user)
            except ClinicError as exc:
                messages.error(request, exc.detail)
                return redirect(here)
            if called is None:
                messages.info(request, "Nobody is waiting.")
                return redirect(here)
            messages.success(request, f"Calling {called.patient.full_name}.")
            return redirect(_after_call_url(called))
        if action in ("up", "down"):
            require(is_front_desk(request.user))
            order = [a.reference for a in selectors.queue_for(doctor, _today())]
            reference = request.POST.get("appointment", "")
            if reference in order:
                i = order.index(reference)
                j = i - 1 if action == "up" else i + 1
                if 0 <= j < len(order):
                    order[i], order[j] = order[j], order[i]
                    try:
                        services.queue_reorder(
                            doctor=doctor, day=_today(), order=order, actor=request.user
                        )
                    except (ClinicError, ValidationError) as exc:
                        messages.error(request, getattr(exc, "detail", None) or str(exc))
                    else:  # the page offers to move them back
                        return redirect(f"{here}&{urlencode({'moved': reference, 'to': action})}")
            return redirect(here)
        raise Http404("No such action.")


# The move that undoes a move.
UNDO = {"up": "down", "down": "up"}


def _after_call_url(appointment) -> str:
    """Where the doctor goes after calling a patient in: the consultation record."""
    try:
        return reverse("dashboard:record", args=[appointment.reference])
    except NoReverseMatch:
        return reverse("dashboard:appointment", args=[appointment.reference])
