"""Doctors in the Wagtail admin (snippets, so pages can choose them); specialties as reference
data in the "Clinic" group of wagtail-modeladmin."""

from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup
from wagtail_modeladmin.options import ModelAdmin, ModelAdminGroup, modeladmin_register

from .models import Doctor, DoctorPayoutDetails, Specialty, VisitType


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


class SpecialtyAdmin(ModelAdmin):
    model = Specialty
    menu_label = "Specialties"
    menu_icon = "tag"
    list_display = ("name", "slug")
    search_fields = ("name",)
    panels = [FieldPanel("name"), FieldPanel("slug"), FieldPanel("description")]


class VisitTypeAdmin(ModelAdmin):
    model = VisitType
    menu_label = "Visit types"
    menu_icon = "time"
    list_display = ("name", "doctor", "duration_minutes", "mode", "price", "is_active")
    list_filter = ("mode", "duration_minutes", "is_active", "doctor")
    search_fields = ("name", "doctor__name")
    panels = [
        FieldPanel("doctor"),
        FieldPanel("name"),
        FieldPanel("duration_minutes"),
        FieldPanel("mode"),
        FieldPanel("price"),
        FieldPanel("sort_order"),
        FieldPanel("is_active"),
    ]


class ClinicReferenceGroup(ModelAdminGroup):
    """Reference data: specialties and visit types (medicines join later)."""

    menu_label = "Clinic"
    menu_icon = "site"
    menu_order = 150
    items = (SpecialtyAdmin, VisitTypeAdmin)


modeladmin_register(ClinicReferenceGroup)
