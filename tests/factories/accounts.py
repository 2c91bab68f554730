from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from clinic_site.accounts.models import PatientProfile, User
from clinic_site.accounts.roles import Role

PASSWORD = "Sunny-meadow-42"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Faker("name")
    phone = "+44 20 7946 0000"
    email_verified_at = factory.LazyFunction(timezone.now)
    activated_at = factory.LazyFunction(timezone.now)
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def role(obj, create, extracted, **kwargs):
        role = extracted or obj._factory_role
        if create and role:
            obj.groups.add(Group.objects.get(name=Role(role).group_name))

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create:
            instance.save()

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        instance = super()._build(model_class, *args, **kwargs)
        instance._factory_role = cls._default_role
        return instance

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        instance = super()._create(model_class, *args, **kwargs)
        instance._factory_role = cls._default_role
        return instance

    _default_role = None


class PatientFactory(UserFactory):
    _default_role = Role.PATIENT

    @factory.post_generation
    def profile(obj, create, extracted, **kwargs):
        if create:
            PatientProfile.objects.create(
                user=obj, date_of_birth=kwargs.pop("date_of_birth", dt.date(1990, 5, 17)), **kwargs
            )


class StaffFactory(UserFactory):
    _default_role = Role.RECEPTIONIST


def make_user(role: Role | str, **kwargs) -> User:
    """A verified, active user of `role` (patients get a profile)."""
    role = Role(role)
    if role == Role.PATIENT:
        return PatientFactory(**kwargs)
    return UserFactory(role=role, **kwargs)
