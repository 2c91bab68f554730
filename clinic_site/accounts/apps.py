from django.apps import AppConfig
from wagtail.users.apps import WagtailUsersAppConfig


class AccountsConfig(AppConfig):
    # Two configs live here (and Wagtail's is imported): say which one the app uses.
    default = True
    name = "clinic_site.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from clinic_site.middleware import session_refreshed_at_login

        from .activity_receivers import connect
        from .mfa import on_login

        connect()
        user_logged_in.connect(on_login, dispatch_uid="accounts.mfa.on_login")
        user_logged_in.connect(session_refreshed_at_login, dispatch_uid="session_refreshed")


class ClinicWagtailUsersConfig(WagtailUsersAppConfig):
    """Wagtail's user admin, with our forms (full name, one role, the administrator limit)."""

    user_viewset = "clinic_site.accounts.admin_views.ClinicUserViewSet"
