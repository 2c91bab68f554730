"""Clinic policies: every number of scheduling-rules.md that a clinic may change.

They live in this lowest-layer app (not in `home`) so that accounts, doctors and booking can read
them without importing the public-site app; see docs/decisions/0002-clinic-policies.md.
"""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseGenericSetting, register_setting

from .activity import Action
from .audit import append_only


def _minutes(default: int, maximum: int, help_text: str, verbose_name: str):
    return models.PositiveIntegerField(
        verbose_name,
        default=default,
        validators=[MinValueValidator(0), MaxValueValidator(maximum)],
        help_text=help_text,
    )


def staff_mfa_default() -> bool:
    """Two-step sign-in for the roles that read clinical data is on unless the deployment's
    settings say otherwise (CLINIC_STAFF_MFA_DEFAULT: off for the demo and the tests)."""
    return getattr(settings, "CLINIC_STAFF_MFA_DEFAULT", True)


@register_setting(icon="cog", name="clinic-policies")
class ClinicPolicies(BaseGenericSetting):
    confirmation_required = models.BooleanField(
        "bookings need confirmation",
        default=True,
        help_text="On: a patient's booking waits as 'requested' until the doctor or the front "
        "desk confirms it. Off: it is confirmed at once. A doctor may override this.",
    )
    buffer_before_minutes = _minutes(
        5,
        120,
        "Free time kept before every appointment (a doctor may override).",
        "buffer before (minutes)",
    )
    buffer_after_minutes = _minutes(
        5,
        120,
        "Free time kept after every appointment (a doctor may override).",
        "buffer after (minutes)",
    )
    minimum_notice_minutes = _minutes(
        60,
        60 * 24 * 14,
        "Patients cannot book a slot that starts sooner than this.",
        "minimum booking notice (minutes)",
    )
    booking_horizon_days = models.PositiveIntegerField(
        "booking horizon (days)",
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(366)],
        help_text="How many days ahead patients can book.",
    )
    cancellation_cutoff_minutes = _minutes(
        120,
        60 * 24 * 14,
        "Patients can cancel online until this many minutes before the visit.",
        "cancellation cut-off (minutes)",
    )
    reschedule_cutoff_minutes = _minutes(
        120,
        60 * 24 * 14,
        "Patients can reschedule online until this many minutes before the visit.",
        "reschedule cut-off (minutes)",
    )
    max_reschedules = models.PositiveIntegerField(
        "reschedules per appointment",
        default=3,
        validators=[MaxValueValidator(50)],
        help_text="How many times a patient may reschedule one appointment (staff: no limit).",
    )
    payment_at_booking = models.BooleanField(
        "payment taken at booking",
        default=False,
        help_text="On: a new booking is held until it is paid online. "
        "Off: patients pay at the desk.",
    )
    payment_hold_minutes = _minutes(
        15, 24 * 60, "How long a slot is held while payment is pending.", "payment hold (minutes)"
    )
    waitlist_offer_minutes = _minutes(
        30,
        24 * 60,
        "How long a waiting-list offer is held for the patient.",
        "waiting-list offer hold (minutes)",
    )
    refund_full_hours = models.PositiveIntegerField(
        "full refund until (hours before)",
        default=24,
        validators=[MaxValueValidator(24 * 30)],
        help_text="Hours before the visit until which a patient's cancellation is "
        "refunded in full.",
    )
    refund_late_percent = models.PositiveIntegerField(
        "late cancellation refund (%)",
        default=50,
        validators=[MaxValueValidator(100)],
        help_text="Refund, in percent, for a patient's cancellation after that point.",
    )
    reminder_hours_before = models.PositiveIntegerField(
        "reminder (hours before)",
        default=24,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 7)],
        help_text="Hours before the visit at which patients get a reminder.",
    )
    accounts_need_activation = models.BooleanField(
        "new accounts need activation",
        default=False,
        help_text="On: a patient who registers can sign in only after an administrator "
        "activates the account.",
    )
    max_administrators = models.PositiveIntegerField(
        "maximum administrators",
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
        help_text="How many active accounts may hold the Admin role.",
    )
    mfa_required_doctors = models.BooleanField(
        "doctors need two-step sign-in",
        default=staff_mfa_default,
        help_text="On: doctors sign in with an authenticator app or a passkey as well as "
        "their password (they read clinical records).",
    )
    mfa_required_admins = models.BooleanField(
        "administrators need two-step sign-in",
        default=staff_mfa_default,
        help_text="On: administrators sign in with an authenticator app or a passkey as well "
        "as their password.",
    )
    mfa_required_reception = models.BooleanField(
        "receptionists need two-step sign-in",
        default=False,
        help_text="On: receptionists sign in with an authenticator app or a passkey as well "
        "as their password. Patients and editors may always turn it on for themselves.",
    )

    panels = [
        MultiFieldPanel(
            [
                FieldPanel("confirmation_required"),
                FieldPanel("buffer_before_minutes"),
                FieldPanel("buffer_after_minutes"),
                FieldPanel("minimum_notice_minutes"),
                FieldPanel("booking_horizon_days"),
            ],
            heading="Booking",
        ),
        MultiFieldPanel(
            [
                FieldPanel("cancellation_cutoff_minutes"),
                FieldPanel("reschedule_cutoff_minutes"),
                FieldPanel("max_reschedules"),
                FieldPanel("reminder_hours_before"),
            ],
            heading="Cancelling and rescheduling",
        ),
        MultiFieldPanel(
            [
                FieldPanel("payment_at_booking"),
                FieldPanel("payment_hold_minutes"),
                FieldPanel("waitlist_offer_minutes"),
                FieldPanel("refund_full_hours"),
                FieldPanel("refund_late_percent"),
            ],
            heading="Holds, payments and refunds",
        ),
        MultiFieldPanel(
            [FieldPanel("accounts_need_activation"), FieldPanel("max_administrators")],
            heading="Accounts",
        ),
        MultiFieldPanel(
            [
                FieldPanel("mfa_required_doctors"),
                FieldPanel("mfa_required_admins"),
                FieldPanel("mfa_required_reception"),
            ],
            heading="Two-step sign-in",
        ),
    ]

    class Meta:
        verbose_name = "clinic policies"
        verbose_name_plural = "clinic policies"

    def __str__(self) -> str:
        return "Clinic policies"


class ActivityEvent(models.Model):
    """One sensitive action (activity.py writes them; the dashboard's activity log lists them).

    Who and what are also kept as text as they were at the time, so an event still reads right
    after a rename or once the account is gone. `action` has no database choices: adding an
    `activity.Action` needs no migration.
    """

    at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=40)
    # The log is append-only (clinic_site/audit.py), so deleting an account must not touch its
    # events: SET_NULL would be an UPDATE the trigger refuses. The event keeps `actor_id` as it
    # was (no database constraint, so the account can still go) and the name and e-mail below.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_name = models.CharField(max_length=200, blank=True)
    actor_email = models.CharField(max_length=254, blank=True)
    target = models.CharField(max_length=255, blank=True)
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = "activity event"
        indexes = [
            models.Index(fields=["-at", "-id"], name="activity_at"),
            models.Index(fields=["action", "-at"], name="activity_action_at"),
            models.Index(fields=["actor", "-at"], name="activity_actor_at"),
            models.Index(fields=["target_type", "target_id"], name="activity_target"),
        ]
        # PostgreSQL refuses UPDATE and DELETE of any event (clinic_site/audit.py).
        triggers = [append_only()]

    def __str__(self) -> str:
        who = self.actor_name or self.actor_email or "anonymous"
        return f"{self.at:%Y-%m-%d %H:%M} {who}: {self.action_label}"

    @property
    def action_label(self) -> str:
        try:
            return Action(self.action).label
        except ValueError:
            return self.action
