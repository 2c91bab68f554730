from django.apps import AppConfig
from wagtail.users.apps import WagtailUsersAppConfig


class AccountsConfig(AppConfig):
    name = "clinic_site.accounts"
    label = "accounts"
    verbose_name = "Accounts"


class ClinicWagtailUsersConfig(WagtailUsersAppConfig):
    """Wagtail's user admin, with our forms (full name, one role, the administrator limit)."""

    user_viewset = "clinic_site.accounts.admin_views.ClinicUserViewSet"
