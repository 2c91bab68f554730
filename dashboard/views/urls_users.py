from django.urls import path

from . import users

urlpatterns = [
    path("users/", users.UserListView.as_view(), name="users"),
    path("users/new/", users.StaffCreateView.as_view(), name="user_new"),
    path("users/<int:user_id>/", users.UserView.as_view(), name="user"),
]
