"""StreamField blocks of the public site."""

from __future__ import annotations

from wagtail import blocks
from wagtail.images.blocks import ImageChooserBlock
from wagtail.snippets.blocks import SnippetChooserBlock

ICON_CHOICES = [
    ("stethoscope", "Stethoscope"),
    ("heart", "Heart"),
    ("child", "Child"),
    ("skin", "Skin"),
    ("bone", "Bone"),
    ("calendar", "Calendar"),
    ("video", "Video"),
    ("lab", "Laboratory"),
    ("shield", "Shield"),
]


class HeadingBlock(blocks.StructBlock):
    text = blocks.CharBlock(max_length=120)
    level = blocks.ChoiceBlock(choices=[("h2", "Heading 2"), ("h3", "Heading 3")], default="h2")

    class Meta:
        icon = "title"
        template = "home/blocks/heading.html"


class ImageBlock(blocks.StructBlock):
    image = ImageChooserBlock()
    caption = blocks.CharBlock(required=False, max_length=200)
    alt_text = blocks.CharBlock(
        required=False, max_length=200, help_text="Describe the image for screen readers."
    )

    class Meta:
        icon = "image"
        template = "home/blocks/image.html"


class QuoteBlock(blocks.StructBlock):
    quote = blocks.TextBlock()
    attribution = blocks.CharBlock(required=False, max_length=120)

    class Meta:
        icon = "openquote"
        template = "home/blocks/quote.html"


class CallToActionBlock(blocks.StructBlock):
    heading = blocks.CharBlock(max_length=120)
    text = blocks.TextBlock(required=False)
    button_label = blocks.CharBlock(max_length=40)
    page = blocks.PageChooserBlock(required=False)
    url = blocks.CharBlock(required=False, max_length=200, help_text="Used when no page is chosen.")

    class Meta:
        icon = "pick"
        template = "home/blocks/call_to_action.html"


class ServiceCardBlock(blocks.StructBlock):
    icon = blocks.ChoiceBlock(choices=ICON_CHOICES, default="stethoscope")
    title = blocks.CharBlock(max_length=80)
    text = blocks.TextBlock(max_length=300)
    page = blocks.PageChooserBlock(required=False)

    class Meta:
        icon = "form"


class ServicesBlock(blocks.StructBlock):
    heading = blocks.CharBlock(max_length=120, default="Our services")
    intro = blocks.TextBlock(required=False)
    services = blocks.ListBlock(ServiceCardBlock(), min_num=1, max_num=12)

    class Meta:
        icon = "list-ul"
        template = "home/blocks/services.html"


class FeaturedDoctorsBlock(blocks.StructBlock):
    heading = blocks.CharBlock(max_length=120, default="Meet our doctors")
    intro = blocks.TextBlock(required=False)
    doctors = blocks.ListBlock(SnippetChooserBlock("doctors.Doctor"), min_num=1, max_num=8)

    class Meta:
        icon = "group"
        template = "home/blocks/featured_doctors.html"

    def get_context(self, value, parent_context=None):
        from home.selectors import doctor_cards

        context = super().get_context(value, parent_context)
        ids = [doctor.pk for doctor in value["doctors"] if doctor is not None]
        context["cards"] = doctor_cards(ids)
        return context


class TestimonialBlock(blocks.StructBlock):
    quote = blocks.TextBlock(max_length=400)
    name = blocks.CharBlock(max_length=80)
    detail = blocks.CharBlock(required=False, max_length=80, help_text='e.g. "Patient since 2019"')


class TestimonialsBlock(blocks.StructBlock):
    heading = blocks.CharBlock(max_length=120, default="What our patients say")
    testimonials = blocks.ListBlock(TestimonialBlock(), min_num=1, max_num=6)

    class Meta:
        icon = "openquote"
        template = "home/blocks/testimonials.html"


class LatestNewsBlock(blocks.StructBlock):
    heading = blocks.CharBlock(max_length=120, default="News from the clinic")
    count = blocks.IntegerBlock(min_value=1, max_value=6, default=3)

    class Meta:
        icon = "doc-full"
        template = "home/blocks/latest_news.html"

    def get_context(self, value, parent_context=None):
        from home.models import NewsPage

        context = super().get_context(value, parent_context)
        context["articles"] = (
            NewsPage.objects.live()
            .public()
            .order_by("-date", "-first_published_at")[: value["count"]]
        )
        return context


class InfoItemBlock(blocks.StructBlock):
    icon = blocks.ChoiceBlock(choices=ICON_CHOICES, default="calendar")
    title = blocks.CharBlock(max_length=80)
    text = blocks.TextBlock(max_length=300)


class InfoCardsBlock(blocks.StructBlock):
    heading = blocks.CharBlock(max_length=120, required=False)
    items = blocks.ListBlock(InfoItemBlock(), min_num=1, max_num=6)

    class Meta:
        icon = "help"
        template = "home/blocks/info_cards.html"


class ContentStreamBlock(blocks.StreamBlock):
    """Body of standard pages, news and doctor pages."""

    heading = HeadingBlock()
    paragraph = blocks.RichTextBlock(
        features=["bold", "italic", "link", "ol", "ul", "h3", "h4"],
        template="home/blocks/paragraph.html",
    )
    image = ImageBlock()
    quote = QuoteBlock()
    info_cards = InfoCardsBlock()
    call_to_action = CallToActionBlock()


class HomeStreamBlock(blocks.StreamBlock):
    services = ServicesBlock()
    featured_doctors = FeaturedDoctorsBlock()
    testimonials = TestimonialsBlock()
    latest_news = LatestNewsBlock()
    info_cards = InfoCardsBlock()
    call_to_action = CallToActionBlock()
    paragraph = blocks.RichTextBlock(
        features=["bold", "italic", "link", "ol", "ul", "h2", "h3"],
        template="home/blocks/paragraph.html",
    )
