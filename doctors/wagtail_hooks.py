"""Doctors in the Wagtail admin (snippets, so pages can choose them). Specialties and visit types
are reference data in the dashboard's "Clinic" group (dashboard/wagtail_hooks.py)."""

from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from .models import Doctor, DoctorPayoutDetails


class DoctorViewSet(SnippetViewSet):
    model = Doctor
    icon = "user"
    menu_label = "Doctors"
    list_display = ["name", "accepting_new_patients", "is_active"]
    list_filter = ["is_active", "accepting_new_patients", "specialties"]
    search_fields = ["name"]
    panels = [
        MultiFieldPanel(
            [FieldPanel("name"), FieldPanel("slug"), FieldPanel("user"), FieldPanel("photo")],
            heading="Identity",
        ),
        FieldPanel("specialties"),
        FieldPanel("biography"),
        MultiFieldPanel(
            [FieldPanel("phone"), FieldPanel("languages"), FieldPanel("date_joined")],
            heading="Contact and languages",
        ),
        MultiFieldPanel(
            [
                FieldPanel("accepting_new_patients"),
                FieldPanel("accepting_bookings"),
                FieldPanel("is_active"),
            ],
            heading="Availability",
        ),
        MultiFieldPanel(
            [
                FieldPanel("confirmation_required"),
                FieldPanel("buffer_before_minutes"),
                FieldPanel("buffer_after_minutes"),
            ],
            heading="Booking rules (empty: the clinic policy applies)",
        ),
    ]


class PayoutViewSet(SnippetViewSet):
    model = DoctorPayoutDetails
    icon = "pick"
    menu_label = "Payout details"
    list_display = ["doctor", "updated_at"]
    panels = [
        FieldPanel("doctor"),
        FieldPanel("pan"),
        FieldPanel("bank_account_number"),
        FieldPanel("ifsc"),
    ]


class DoctorViewSetGroup(SnippetViewSetGroup):
    menu_label = "Doctors"
    menu_icon = "group"
    menu_order = 140
    items = (DoctorViewSet, PayoutViewSet)


register_snippet(DoctorViewSetGroup)
