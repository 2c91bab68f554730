from __future__ import annotations

from io import BytesIO

import factory
from django.core.files.images import ImageFile
from PIL import Image as PILImage
from wagtail.images import get_image_model

from clinic_site.accounts.roles import Role
from doctors.models import Doctor, Specialty

from .accounts import UserFactory


def _png(colour=(20, 153, 143), size=(64, 64)) -> ImageFile:
    buffer = BytesIO()
    PILImage.new("RGB", size, colour).save(buffer, format="PNG")
    return ImageFile(buffer, name="test.png")


class ImageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_image_model()

    title = factory.Sequence(lambda n: f"Image {n}")
    file = factory.LazyFunction(_png)


class SpecialtyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Specialty
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Specialty {n}")
    slug = factory.Sequence(lambda n: f"specialty-{n}")


class DoctorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Doctor
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Dr Test Person {n}")
    slug = factory.Sequence(lambda n: f"test-person-{n}")
    user = factory.SubFactory(UserFactory, role=Role.DOCTOR)
    biography = "Experienced and kind."
    languages = "English, French"
    photo = factory.SubFactory(ImageFactory)

    @factory.post_generation
    def specialties(obj, create, extracted, **kwargs):
        if create:
            obj.specialties.set(extracted if extracted is not None else [SpecialtyFactory()])
