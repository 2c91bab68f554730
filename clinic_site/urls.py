from django.conf import settings
from django.urls import include, path, re_path
from django.views.static import serve
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.admin.auth import require_admin_access
from wagtail.documents import urls as wagtaildocs_urls

from clinic_site.accounts.urls import portal_urlpatterns
from clinic_site.accounts.wagtail_account import ClinicAccountView
from clinic_site.api_docs import DocsView, SchemaView
from clinic_site.views import api_not_found
from clinic_site.wagtail_hooks import SiteHistoryView

api_v1 = [
    path("", include("clinic_site.accounts.api.urls")),
    path("", include("doctors.api.urls")),
    path("", include("booking.api.urls")),
    path("", include("records.api.urls")),
    path("schema/", SchemaView.as_view(), name="api-schema"),
]

urlpatterns = [
    path("accounts/", include("clinic_site.accounts.urls")),
    path("portal/", include(portal_urlpatterns)),
    path("", include("booking.urls")),
    path("", include("records.urls")),
    path("api/v1/", include(api_v1)),
    path("api/docs/", DocsView.as_view(url_name="api-schema"), name="api-docs"),
    # Any other /api path: the contract's JSON 404, by any method (not Wagtail's page, nor a
    # CSRF refusal of a POST to a page that does not exist, nor a redirect to add a slash).
    re_path(r"^api(?:/[\s\S]*)?$", api_not_found, name="api-not-found"),
    path("swagger/", DocsView.as_view(url_name="api-schema"), name="swagger"),
    # Wagtail's account page, with one full-name field (our users have no first/last name).
    path(
        "admin/account/",
        require_admin_access(ClinicAccountView.as_view()),
        name="wagtailadmin_account",
    ),
    # Wagtail's site history, for those who work on pages only (clinic_site/wagtail_hooks.py).
    path(
        "admin/reports/site-history/",
        require_admin_access(SiteHistoryView.as_view()),
        name="clinic_site_history",
    ),
    path(
        "admin/reports/site-history/results/",
        require_admin_access(SiteHistoryView.as_view(results_only=True)),
        name="clinic_site_history_results",
    ),
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
]

if settings.CLINIC_SERVE_MEDIA:
    urlpatterns += [
        re_path(
            rf"^{settings.MEDIA_URL.lstrip('/')}(?P<path>.*)$",
            serve,
            {"document_root": settings.MEDIA_ROOT},
        )
    ]

# Wagtail's page serving catches everything else, so it comes last.
urlpatterns += [path("", include(wagtail_urls))]

handler400 = "clinic_site.views.bad_request"
handler404 = "clinic_site.views.page_not_found"
handler500 = "clinic_site.views.server_error"
handler403 = "clinic_site.views.permission_denied"
