"""The public site: Wagtail pages that read doctors' data from `doctors`, never copy it."""

from __future__ import annotations

from django.db import models
from django.http import Http404
from django.utils import timezone
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseGenericSetting, register_setting
from wagtail.fields import StreamField
from wagtail.models import Page
from wagtail.search import index

from .blocks import ContentStreamBlock, HomeStreamBlock


@register_setting(icon="site", name="clinic-details")
class ClinicDetails(BaseGenericSetting):
    """How the clinic presents itself: name, contact details and opening hours."""

    name = models.CharField(max_length=100, default="Clinic Portal")
    tagline = models.CharField(max_length=150, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    email = models.EmailField(blank=True)
    address = models.TextField(blank=True)
    opening_hours = models.TextField(blank=True, help_text="One line per day range.")
    emergency_note = models.CharField(
        max_length=200,
        blank=True,
        help_text="Shown in the footer, e.g. what to do in an emergency.",
    )

    panels = [
        MultiFieldPanel([FieldPanel("name"), FieldPanel("tagline")], heading="Identity"),
        MultiFieldPanel(
            [FieldPanel("phone"), FieldPanel("email"), FieldPanel("address")], heading="Contact"
        ),
        FieldPanel("opening_hours"),
        FieldPanel("emergency_note"),
    ]

    class Meta:
        verbose_name = "clinic details"
        verbose_name_plural = "clinic details"

    def __str__(self) -> str:
        return self.name

    @property
    def address_lines(self) -> list[str]:
        return [line.strip() for line in self.address.splitlines() if line.strip()]

    @property
    def opening_hours_lines(self) -> list[str]:
        return [line.strip() for line in self.opening_hours.splitlines() if line.strip()]


class HomePage(Page):
    hero_heading = models.CharField(max_length=120, default="Care that fits your life")
    hero_text = models.TextField(blank=True)
    hero_image = models.ForeignKey(
        "wagtailimages.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    hero_cta_label = models.CharField("button label", max_length=40, default="Find a doctor")
    hero_cta_page = models.ForeignKey(
        "wagtailcore.Page",
        verbose_name="button page",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    body = StreamField(HomeStreamBlock(), blank=True)

    content_panels = Page.content_panels + [
        MultiFieldPanel(
            [
                FieldPanel("hero_heading"),
                FieldPanel("hero_text"),
                FieldPanel("hero_image"),
                FieldPanel("hero_cta_label"),
                FieldPanel("hero_cta_page"),
            ],
            heading="Hero",
        ),
        FieldPanel("body"),
    ]
    max_count = 1
    parent_page_types = ["wagtailcore.Page"]
    template = "home/home_page.html"

    class Meta:
        verbose_name = "home page"


class StandardPage(Page):
    intro = models.TextField(blank=True)
    body = StreamField(ContentStreamBlock(), blank=True)

    content_panels = Page.content_panels + [FieldPanel("intro"), FieldPanel("body")]
    search_fields = Page.search_fields + [index.SearchField("intro"), index.SearchField("body")]
    template = "home/standard_page.html"

    class Meta:
        verbose_name = "standard page"


class DoctorIndexPage(Page):
    """The doctors directory: every published doctor page, filterable by specialty."""

    intro = models.TextField(blank=True)

    content_panels = Page.content_panels + [FieldPanel("intro")]
    subpage_types = ["home.DoctorPage"]
    max_count = 1
    template = "home/doctor_index_page.html"

    class Meta:
        verbose_name = "doctors directory"

    def get_context(self, request, *args, **kwargs):
        from .selectors import directory_specialties, doctor_directory

        context = super().get_context(request, *args, **kwargs)
        # NUL characters never reach the database (PostgreSQL refuses them in text).
        specialty = request.GET.get("specialty", "").replace("\x00", "") or None
        q = request.GET.get("q", "").replace("\x00", "").strip()[:100] or None
        specialties = list(directory_specialties(self))
        if specialty and specialty not in {s.slug for s in specialties}:
            raise Http404("No such specialty.")
        context.update(
            {
                "specialties": specialties,
                "selected_specialty": next((s for s in specialties if s.slug == specialty), None),
                "q": q or "",
                "doctor_pages": doctor_directory(self, specialty=specialty, q=q),
            }
        )
        return context


class DoctorPage(Page):
    """A doctor's public page. Name, specialties, photo and times come from the `Doctor`."""

    doctor = models.OneToOneField("doctors.Doctor", on_delete=models.PROTECT, related_name="page")
    body = StreamField(
        ContentStreamBlock(),
        blank=True,
        help_text="Editorial content below the doctor's introduction: experience, interests.",
    )

    content_panels = Page.content_panels + [FieldPanel("doctor"), FieldPanel("body")]
    parent_page_types = ["home.DoctorIndexPage"]
    subpage_types = []
    search_fields = Page.search_fields + [index.SearchField("body")]
    template = "home/doctor_page.html"

    class Meta:
        verbose_name = "doctor page"

    def get_context(self, request, *args, **kwargs):
        from .selectors import doctor_booking_panel, doctor_for_page

        context = super().get_context(request, *args, **kwargs)
        context["doctor"] = doctor = doctor_for_page(self)
        context["booking"] = doctor_booking_panel(doctor)
        return context


class NewsIndexPage(Page):
    intro = models.TextField(blank=True)

    content_panels = Page.content_panels + [FieldPanel("intro")]
    subpage_types = ["home.NewsPage"]
    template = "home/news_index_page.html"

    class Meta:
        verbose_name = "news index"

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["articles"] = (
            NewsPage.objects.live().public().child_of(self).order_by("-date", "-first_published_at")
        )
        return context


class NewsPage(Page):
    date = models.DateField(default=timezone.localdate)
    intro = models.TextField(max_length=300)
    body = StreamField(ContentStreamBlock(), blank=True)

    content_panels = Page.content_panels + [
        FieldPanel("date"),
        FieldPanel("intro"),
        FieldPanel("body"),
    ]
    parent_page_types = ["home.NewsIndexPage"]
    subpage_types = []
    search_fields = Page.search_fields + [index.SearchField("intro"), index.SearchField("body")]
    template = "home/news_page.html"

    class Meta:
        verbose_name = "news article"
