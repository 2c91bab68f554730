from django.urls import path

from . import activity

urlpatterns = [
    path("activity/", activity.ActivityLogView.as_view(), name="activity"),
]
