from django.apps import AppConfig
from wagtail.users.apps import WagtailUsersAppConfig


class AccountsConfig(AppConfig):
    # Two configs live here (and Wagtail's is imported): say which one the app uses.
    default = True
    name = "clinic_site.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from .activity_receivers import connect

        connect()


class ClinicWagtailUsersConfig(WagtailUsersAppConfig):
    """Wagtail's user admin, with our forms (full name, one role, the administrator limit)."""

    user_viewset = "clinic_site.accounts.admin_views.ClinicUserViewSet"
