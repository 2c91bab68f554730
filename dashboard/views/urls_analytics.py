from django.urls import path

from . import analytics

urlpatterns = [
    path("analytics/", analytics.AnalyticsView.as_view(), name="analytics"),
]
