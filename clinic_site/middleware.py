"""Response headers the security baseline asks for beyond Django's own middleware."""

from django.conf import settings
from django.utils.cache import add_never_cache_headers, patch_cache_control


class PrivateResponseMiddleware:
    """Never let a cache keep a page or API answer that may carry personal data.

    Applies to everything a signed-in user receives, to the whole API and to the account pages;
    anonymous public pages stay cacheable. Also sets Permissions-Policy.
    """

    PRIVATE_PREFIXES = ("/api/", "/accounts/", "/portal/", "/admin/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if request.path.startswith(self.PRIVATE_PREFIXES) or (user and user.is_authenticated):
            add_never_cache_headers(response)
            patch_cache_control(response, no_store=True, private=True)
        response.headers.setdefault("Permissions-Policy", settings.CLINIC_PERMISSIONS_POLICY)
        return response
