"""The front desk books on a patient's behalf (product.md §3, scheduling-rules.md "Booking").

1. `BookStartView` finds the patient (name, e-mail, phone, national ID, date of birth), or
   `BookRegisterView` registers a new one (accounts.services.patient_register_at_desk);
2. `BookPatientView` picks the doctor, the visit type and a slot of the week (front-desk rules:
   a doctor whose online booking is closed can still be booked), or a walk-in slot of today;
3. `BookConfirmView` shows the summary, takes the reason and books through
   booking.services.appointment_book (CONFIRMED, created by the receptionist).

Views parse input, call one selector or service and render; garbage in the address answers a 404
or a way back, never a 500.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import F, Prefetch, Q, Value
from django.db.models.functions import Replace
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse, reverse_lazy
from django.utils import dateformat, timezone

from booking import selectors
from booking.exceptions import PatientOverlap, SlotUnavailable
from booking.models import Appointment, Status
from booking.services import appointment_book
from booking.views import slot_week
from clinic_site.accounts.models import User, normalise_national_id
from clinic_site.accounts.permissions import patient_get_for_user
from clinic_site.accounts.roles import Role
from clinic_site.accounts.services import patient_register_at_desk
from clinic_site.dates import parse_query_date, parse_query_datetime
from clinic_site.exceptions import ClinicError
from clinic_site.policies import clinic_tz, get_policies
from doctors.models import Doctor, VisitType
from doctors.rules import Slot

from ..forms_desk import DeskBookingForm, DeskRegistrationForm, PatientSearchForm
from ..permissions import FRONT_DESK
from .base import StaffView

SEARCH_LIMIT = 20
WEEK_DAYS = 7
UPCOMING_SHOWN = 5
_ID = re.compile(r"[0-9]{1,18}")
_PHONE_LIKE = re.compile(r"\+?[0-9 ().\-]+")
_PHONE_SEPARATORS = (" ", "-", "(", ")", ".", "+")
_STAFF_GROUPS = [role.group_name for role in Role if role != Role.PATIENT]


# --- Reads ------------------------------------------------------------------------------------


def patient_search(*, q: str = "", born: date | None = None, limit: int = SEARCH_LIMIT):
    """Patients (never staff) matching `q` — every word in the name, or part of the e-mail
    address, national ID or phone number (digits only, whatever the separators) — and born on
    `born` when given. At most `limit + 1` of them (the extra one says "there are more"), in one
    query."""
    qs = (
        User.objects.filter(groups__name=Role.PATIENT.group_name, is_superuser=False)
        .exclude(groups__name__in=_STAFF_GROUPS)
        .select_related("patient_profile")
    )
    if born is not None:
        qs = qs.filter(patient_profile__date_of_birth=born)
    if q:
        name = Q()
        for word in q.split():
            name &= Q(full_name__icontains=word)
        match = name | Q(email__icontains=q)
        national_id = normalise_national_id(q)
        if national_id:
            match |= Q(national_id__contains=national_id)
        digits = re.sub(r"\D", "", q)
        if len(digits) >= 3 and _PHONE_LIKE.fullmatch(q):
            phone_digits = F("phone")
            for separator in _PHONE_SEPARATORS:
                phone_digits = Replace(phone_digits, Value(separator), Value(""))
            qs = qs.annotate(phone_digits=phone_digits)
            match |= Q(phone_digits__contains=digits)
        qs = qs.filter(match)
    return list(qs.order_by("full_name", "email", "pk")[: limit + 1])


def bookable_doctors() -> list[Doctor]:
    """Active doctors with at least one active visit type, each with `active_visit_types`."""
    doctors = Doctor.objects.filter(is_active=True).prefetch_related(
        Prefetch(
            "visit_types",
            queryset=VisitType.objects.filter(is_active=True).order_by("sort_order", "pk"),
            to_attr="active_visit_types",
        )
    )
    return [doctor for doctor in doctors.order_by("name", "pk") if doctor.active_visit_types]


def walk_in_earliest(visit_type: VisitType, now: datetime) -> datetime:
    """The booking service's bound for a walk-in: a slot that has begun but not ended
    (start > now - duration)."""
    return now - timedelta(minutes=visit_type.duration_minutes) + timedelta(microseconds=1)


def walk_in_slots(visit_type: VisitType, *, now: datetime, policies) -> list[Slot]:
    """Free slots of today that have already begun (and not ended) or start within the minimum
    notice: what a patient at the desk can have now (scheduling-rules.md "Walk-ins")."""
    today = now.astimezone(clinic_tz()).date()
    slots = selectors.slot_search(
        visit_type=visit_type,
        date_from=today,
        date_to=today,
        now=now,
        policies=policies,
        earliest=walk_in_earliest(visit_type, now),
        front_desk=True,
    )
    return [slot for slot in slots if slot.start < now + policies.minimum_notice]


def patient_upcoming(patient: User, *, now: datetime) -> list[Appointment]:
    """The patient's next appointments, so the desk does not book them twice. Not
    selectors.patient_upcoming: that one joins the consultation record, which the front desk
    never reads."""
    return list(
        Appointment.objects.filter(
            patient=patient, status__in=selectors.UPCOMING_STATUSES, end__gt=now
        )
        .exclude(status=Status.HELD, hold_expires_at__lte=now)
        .select_related("doctor", "visit_type")
        .order_by("start", "pk")[:UPCOMING_SHOWN]
    )


# --- Parsing ----------------------------------------------------------------------------------


def _parse_id(value) -> int | None:
    value = str(value or "").strip()
    return int(value) if _ID.fullmatch(value) else None


def _when(slot: Slot, now: datetime) -> str:
    """A walk-in slot relative to now: "began 12 min ago", "starts now" or "in 25 min"."""
    minutes = round((slot.start - now).total_seconds() / 60)
    if minutes < 0:
        return f"began {-minutes} min ago"
    if minutes == 0:
        return "starts now"
    return f"in {minutes} min"


# --- URLs -------------------------------------------------------------------------------------


def _choose_url(patient: User, **query) -> str:
    url = reverse("dashboard:book_patient", args=[patient.pk])
    query = {key: value for key, value in query.items() if value not in (None, "")}
    return f"{url}?{urlencode(query)}" if query else url


def _confirm_url(patient: User, visit_type: VisitType, start: datetime, walk_in=False) -> str:
    query = {"visit_type": visit_type.pk, "start": start.astimezone(UTC).isoformat()}
    if walk_in:
        query["walk_in"] = "1"
    return f"{reverse('dashboard:book_confirm', args=[patient.pk])}?{urlencode(query)}"


# --- Views ------------------------------------------------------------------------------------


class DeskView(StaffView):
    """Receptionists and administrators only."""

    allowed_roles = FRONT_DESK
    header_icon = "calendar-check"
    start_crumb = {"url": reverse_lazy("dashboard:book"), "label": "Book for a patient"}

    def get_breadcrumbs_items(self):
        items = [*self.breadcrumbs_items]
        if self.start_crumb["label"] != self.get_page_title():
            items.append(self.start_crumb)
        return [*items, {"url": "", "label": self.get_page_title()}]

    def render(self, status=200, **context):
        return TemplateResponse(
            self.request,
            self.template_name,
            self.get_context_data(clinic_tz=clinic_tz(), **context),
            status=status,
        )


class BookStartView(DeskView):
    """Step 1: find the patient."""

    page_title = "Book for a patient"
    template_name = "dashboard/desk/start.html"

    def get(self, request):
        searched = "q" in request.GET or "born" in request.GET
        form = PatientSearchForm(request.GET if searched else None)
        results, more = None, False
        if searched and form.is_valid():
            results = patient_search(q=form.cleaned_data["q"], born=form.cleaned_data["born"])
            more = len(results) > SEARCH_LIMIT
            results = results[:SEARCH_LIMIT]
        register_url = reverse("dashboard:book_register")
        query = form.cleaned_data.get("q") if form.is_bound and form.is_valid() else ""
        if query:
            register_url += "?" + urlencode({"q": query})
        return self.render(
            form=form,
            results=results,
            more=more,
            limit=SEARCH_LIMIT,
            register_url=register_url,
        )


class BookRegisterView(DeskView):
    """Step 1, a new patient: register them, then go on to their booking."""

    page_title = "Register a new patient"
    header_icon = "user"
    template_name = "dashboard/desk/register.html"

    def _initial(self) -> dict:
        """What the receptionist had searched for, in the field it belongs to."""
        q = " ".join(str(self.request.GET.get("q", ""))[:100].split())
        if not q:
            return {}
        if "@" in q:
            return {"email": q}
        if _PHONE_LIKE.fullmatch(q) and len(re.sub(r"\D", "", q)) >= 7:
            return {"phone": q}
        if any(ch.isdigit() for ch in q):
            return {}
        return {"full_name": q}

    def get(self, request):
        return self.render(form=DeskRegistrationForm(initial=self._initial()))

    def post(self, request):
        form = DeskRegistrationForm(request.POST)
        if form.is_valid():
            try:
                patient = patient_register_at_desk(actor=request.user, **form.service_kwargs())
            except ValidationError as exc:
                form.field_errors_from(exc)
            except ClinicError as exc:
                form.add_error(None, exc.detail)
            else:
                messages.success(
                    request,
                    f"{patient.full_name} is registered. We e-mailed {patient.email} a link to "
                    "choose a password.",
                )
                return redirect("dashboard:book_patient", patient_id=patient.pk)
        return self.render(status=400, form=form)


class PatientStepMixin:
    """Steps 2 and 3: the patient of the address, loaded after StaffView's role gate (a 404 for
    an id that is not a patient's)."""

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self._patient = None

    @property
    def patient(self) -> User:
        if self._patient is None:
            self._patient = patient_get_for_user(self.request.user, self.kwargs["patient_id"])
        return self._patient


class BookPatientView(PatientStepMixin, DeskView):
    """Step 2: doctor, visit type and a slot of the week — or a walk-in slot of today."""

    page_title = "Choose a time"
    template_name = "dashboard/desk/choose.html"

    def get(self, request, patient_id):
        patient = self.patient
        policies = get_policies(request)
        now = timezone.now()
        tz = clinic_tz()
        today = now.astimezone(tz).date()
        last_day = today + timedelta(days=policies.booking_horizon_days)

        doctors = bookable_doctors()
        doctor_id = _parse_id(request.GET.get("doctor"))
        doctor = next((d for d in doctors if d.pk == doctor_id), None)
        if doctor is None and len(doctors) == 1:
            doctor = doctors[0]
        context = {
            "patient": patient,
            "profile": getattr(patient, "patient_profile", None),
            "upcoming": patient_upcoming(patient, now=now),
            "doctors": doctors,
            "doctor": doctor,
            "search_url": reverse("dashboard:book"),
        }
        if doctor is None:
            return self.render(**context)

        visit_type_id = _parse_id(request.GET.get("visit_type"))
        visit_types = doctor.active_visit_types
        visit_type = next((vt for vt in visit_types if vt.pk == visit_type_id), visit_types[0])
        visit_type.doctor = doctor

        week = slot_week(
            visit_type=visit_type,
            requested=parse_query_date(request.GET.get("week")),
            now=now,
            policies=policies,
            slot_url=lambda slot: _confirm_url(patient, visit_type, slot.start),
            front_desk=True,
        )
        week_start, week_end, days, slots = week.start, week.end, week.days, week.slots
        walk_ins = [
            (slot, _confirm_url(patient, visit_type, slot.start, walk_in=True), _when(slot, now))
            for slot in walk_in_slots(visit_type, now=now, policies=policies)
        ]

        def week_url(day):
            return _choose_url(
                patient, doctor=doctor.pk, visit_type=visit_type.pk, week=day.isoformat()
            )

        previous_week = max(week_start - timedelta(days=WEEK_DAYS), today)
        next_week = week_start + timedelta(days=WEEK_DAYS)
        context.update(
            visit_type=visit_type,
            visit_types=[
                (vt, _choose_url(patient, doctor=doctor.pk, visit_type=vt.pk, week=week_start))
                for vt in visit_types
            ],
            days=days,
            slot_count=len(slots),
            walk_ins=walk_ins,
            week_start=week_start,
            week_end=week_end,
            previous_week_url=week_url(previous_week) if week_start > today else None,
            next_week_url=week_url(next_week) if next_week <= last_day else None,
            this_week_url=week_url(today) if week_start != today else None,
            notice_minutes=int(policies.minimum_notice.total_seconds() // 60),
            now=now,
        )
        return self.render(**context)


class BookConfirmView(PatientStepMixin, DeskView):
    """Step 3: the summary and the reason; POST books (CONFIRMED) and opens the appointment."""

    page_title = "Confirm the booking"
    template_name = "dashboard/desk/confirm.html"

    def _chosen(self):
        """(visit type with its doctor, start, walk-in?) from the address, or None."""
        visit_type_id = _parse_id(self.request.GET.get("visit_type"))
        start = parse_query_datetime(self.request.GET.get("start"))
        if visit_type_id is None or start is None:
            return None
        visit_type = (
            VisitType.objects.select_related("doctor")
            .filter(pk=visit_type_id, is_active=True, doctor__is_active=True)
            .first()
        )
        if visit_type is None:
            return None
        return visit_type, start, self.request.GET.get("walk_in") == "1"

    def _start_again(self):
        messages.error(self.request, "Choose a time from the doctor's free slots.")
        return redirect(_choose_url(self.patient))

    def _page(self, visit_type, start, walk_in, form, status=200, **extra):
        tz = clinic_tz()
        doctor = visit_type.doctor
        return self.render(
            status=status,
            patient=self.patient,
            profile=getattr(self.patient, "patient_profile", None),
            doctor=doctor,
            visit_type=visit_type,
            start=start.astimezone(tz),
            end=(start + timedelta(minutes=visit_type.duration_minutes)).astimezone(tz),
            walk_in=walk_in,
            form=form,
            back_url=_choose_url(
                self.patient,
                doctor=doctor.pk,
                visit_type=visit_type.pk,
                week=start.astimezone(tz).date().isoformat(),
            ),
            **extra,
        )

    def _taken(self, visit_type, start, walk_in, form, message, alternatives):
        """The chosen time is gone: say so and offer the next free ones — for a walk-in, first
        the other slots the patient can have now."""
        offers = []
        if walk_in:
            now = timezone.now()
            offers = [
                (slot, _confirm_url(self.patient, visit_type, slot.start, walk_in=True), True)
                for slot in walk_in_slots(visit_type, now=now, policies=get_policies(self.request))
                if slot.start != start
            ]
        for alt in alternatives:
            slot = alt if isinstance(alt, Slot) else Slot(alt["start"], alt["end"])
            offers.append((slot, _confirm_url(self.patient, visit_type, slot.start), False))
        return self._page(
            visit_type,
            start,
            walk_in,
            form,
            status=409,
            taken_message=message,
            alternatives=offers,
        )

    def _offered(self, visit_type, start, walk_in) -> bool:
        now = timezone.now()
        earliest = None
        if walk_in:
            if start.astimezone(clinic_tz()).date() != now.astimezone(clinic_tz()).date():
                return False
            earliest = walk_in_earliest(visit_type, now)
        slot = selectors.slot_offered(
            visit_type=visit_type,
            start=start,
            now=now,
            policies=get_policies(self.request),
            earliest=earliest,
            front_desk=True,
        )
        return slot is not None

    def get(self, request, patient_id):
        self.patient  # noqa: B018 — a 404 for anyone but a patient, before anything else
        chosen = self._chosen()
        if chosen is None:
            return self._start_again()
        visit_type, start, walk_in = chosen
        form = DeskBookingForm()
        if not self._offered(visit_type, start, walk_in):
            alternatives = selectors.slot_alternatives(
                visit_type, start, policies=get_policies(request)
            )
            return self._taken(
                visit_type,
                start,
                walk_in,
                form,
                "That time is no longer free.",
                alternatives,
            )
        return self._page(visit_type, start, walk_in, form)

    def post(self, request, patient_id):
        patient = self.patient
        chosen = self._chosen()
        if chosen is None:
            return self._start_again()
        visit_type, start, walk_in = chosen
        form = DeskBookingForm(request.POST)
        if not form.is_valid():
            return self._page(visit_type, start, walk_in, form, status=400)
        try:
            appointment = appointment_book(
                actor=request.user,
                patient=patient,
                visit_type=visit_type,
                start=start,
                reason=form.cleaned_data["reason"],
                walk_in=walk_in,
            )
        except SlotUnavailable as exc:
            return self._taken(
                visit_type,
                start,
                walk_in,
                form,
                "Someone has just taken that time (or it is no longer bookable).",
                exc.extra.get("alternatives", []),
            )
        except PatientOverlap:
            form.add_error(
                None,
                f"{patient.full_name} already has an appointment that overlaps this time. "
                "Choose another time, or move or cancel the other appointment first.",
            )
        except ClinicError as exc:
            form.add_error(None, exc.detail)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            when = dateformat.format(appointment.start.astimezone(clinic_tz()), r"D j M Y \a\t H:i")
            messages.success(
                request,
                f"Booked {patient.full_name} with {appointment.doctor.name} on "
                f"{when} ({appointment.get_status_display().lower()}"
                f"{', walk-in' if appointment.walk_in else ''}). "
                f"Reference {appointment.reference}.",
            )
            return redirect(reverse("dashboard:appointment", args=[appointment.reference]))
        return self._page(visit_type, start, walk_in, form, status=409)
