"""WSGI entry point (gunicorn clinic_site.wsgi). Production settings unless told otherwise."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic_site.settings.production")

application = get_wsgi_application()
