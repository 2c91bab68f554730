"""Roles as groups with exactly their permissions, who opens which admin screen, the activation
policy, and the administrator rules (the limit, and never losing the last active admin)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.core import mail
from django.test import Client
from django.urls import reverse
from wagtail.models import Collection, GroupCollectionPermission, GroupPagePermission, Page

from clinic_site.accounts.exceptions import AdministratorLimitReached, LastAdministrator
from clinic_site.accounts.models import User
from clinic_site.accounts.roles import (
    ROLE_COLLECTION_PERMISSIONS,
    ROLE_PAGE_PERMISSIONS,
    ROLE_PERMISSIONS,
    Role,
)
from clinic_site.accounts.services import (
    staff_create,
    user_activate,
    user_deactivate,
    user_set_role,
)
from clinic_site.exceptions import Forbidden
from clinic_site.models import ClinicPolicies
from tests.factories import DoctorFactory, make_user
from tests.factories.accounts import PASSWORD

pytestmark = pytest.mark.django_db

ROLE_GROUPS = {"Patient", "Doctor", "Receptionist", "Admin", "Editor"}
NEW_PASSWORD = "Quiet-river-2026"
PENDING_URL = "/admin/accounts/pending/"
POLICIES_URL = "/admin/settings/clinic_site/clinicpolicies/"
ACTIVATED_SUBJECT = "Your account is ready"
WAITING_MESSAGE = "waiting for the clinic"


# --- helpers ----------------------------------------------------------------------------------


def perm_names(permissions) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}" for p in permissions}


def group(role: Role) -> Group:
    return Group.objects.get(name=role.group_name)


def set_policies(**values) -> ClinicPolicies:
    policies = ClinicPolicies.load()
    for name, value in values.items():
        setattr(policies, name, value)
    policies.save()
    return policies


def active_admins() -> set[int]:
    return set(
        User.objects.filter(groups__name="Admin", is_active=True).values_list("pk", flat=True)
    )


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def web_login(client: Client, username: str, password: str = PASSWORD):
    return client.post("/accounts/login/", {"username": username, "password": password})


def activation_mails(to: str) -> list:
    return [m for m in mail.outbox if m.to == [to] and m.subject == ACTIVATED_SUBJECT]


def register_patient(client: Client, email: str):
    return client.post(
        "/accounts/register/",
        {
            "email": email,
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "full_name": "Nora Quinn",
            "phone": "+44 7700 900111",
            "date_of_birth": "1990-02-03",
        },
    )


def opens(client: Client, url: str) -> bool:
    """The screen itself is shown (following the admin's own redirects, e.g. settings/ → /1/)."""
    response = client.get(url, follow=True)
    final = response.redirect_chain[-1][0] if response.redirect_chain else url
    return response.status_code == 200 and final.startswith(url)


def refused(client: Client, url: str) -> bool:
    """Refused: 403/404, or sent back to the dashboard home or the sign-in page."""
    response = client.get(url)
    if response.status_code in (403, 404):
        return True
    if response.status_code == 302:
        location = response["Location"]
        if location in ("/admin/", "/portal/") or location.startswith("/accounts/login/"):
            return True
        if location.startswith(url):  # e.g. settings/ → settings/1/: judge the target
            return refused(client, location)
    return False


def user_form_data(user: User | None = None, **overrides) -> dict:
    data = {"email": "", "full_name": "", "phone": "", "password1": "", "password2": ""}
    if user is not None:
        data.update(email=user.email, full_name=user.full_name, phone=user.phone)
        data["role"] = user.role.value if user.role else ""
        if user.is_active:
            data["is_active"] = "on"
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def admin():
    return make_user(Role.ADMIN, email="admin1@example.test")


@pytest.fixture
def two_admins(admin):
    return admin, make_user(Role.ADMIN, email="admin2@example.test")


# --- groups and their permissions ---------------------------------------------------------------


def test_the_five_role_groups_exist_and_wagtails_starter_groups_are_gone():
    names = set(Group.objects.values_list("name", flat=True))
    assert names >= ROLE_GROUPS
    assert "Moderators" not in names
    assert "Editors" not in names
    assert names == ROLE_GROUPS


@pytest.mark.parametrize("role", list(Role))
def test_each_role_has_exactly_its_model_permissions(role):
    granted = perm_names(group(role).permissions.select_related("content_type"))
    assert granted == set(ROLE_PERMISSIONS[role])


@pytest.mark.parametrize("role", list(Role))
def test_every_listed_permission_exists(role):
    """A typo in ROLE_PERMISSIONS would silently grant nothing; every entry must be real."""
    granted = perm_names(group(role).permissions.select_related("content_type"))
    assert set(ROLE_PERMISSIONS[role]) - granted == set()


@pytest.mark.parametrize("role", [Role.EDITOR, Role.ADMIN])
def test_editors_and_admins_have_page_permissions_on_the_root_page(role):
    root = Page.get_first_root_node()
    grants = GroupPagePermission.objects.filter(group=group(role)).select_related("permission")
    assert {g.page_id for g in grants} == {root.pk}
    assert {g.permission.codename for g in grants} == set(ROLE_PAGE_PERMISSIONS[role])


@pytest.mark.parametrize("role", [Role.EDITOR, Role.ADMIN])
def test_editors_and_admins_have_image_and_document_collection_permissions(role):
    root = Collection.get_first_root_node()
    grants = GroupCollectionPermission.objects.filter(group=group(role)).select_related(
        "permission__content_type"
    )
    assert {g.collection_id for g in grants} == {root.pk}
    assert perm_names(g.permission for g in grants) == set(ROLE_COLLECTION_PERMISSIONS[role])
    assert {"wagtailimages.add_image", "wagtaildocs.add_document"} <= perm_names(
        g.permission for g in grants
    )


@pytest.mark.parametrize("role", [Role.PATIENT, Role.DOCTOR, Role.RECEPTIONIST])
def test_patients_doctors_and_receptionists_have_no_page_or_collection_permissions(role):
    assert not GroupPagePermission.objects.filter(group=group(role)).exists()
    assert not GroupCollectionPermission.objects.filter(group=group(role)).exists()


def test_the_role_of_a_user_is_their_group():
    for role in Role:
        user = make_user(role, email=f"{role.value}@example.test")
        assert user.role == role
        assert list(user.groups.values_list("name", flat=True)) == [role.group_name]


# --- who opens which admin screen ---------------------------------------------------------------


def test_editor_opens_pages_but_not_doctor_snippets_or_clinic_policies():
    doctor = DoctorFactory()
    editor = signed_in(make_user(Role.EDITOR, email="ed@example.test"))

    assert opens(editor, "/admin/")
    assert opens(editor, "/admin/pages/")
    assert refused(editor, f"/admin/snippets/doctors/doctor/edit/{doctor.pk}/")
    assert refused(editor, POLICIES_URL)
    assert refused(editor, PENDING_URL)
    assert refused(editor, "/admin/users/")


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.RECEPTIONIST])
def test_doctors_and_receptionists_open_the_dashboard_but_not_clinic_policies(role):
    staff = signed_in(make_user(role, email=f"{role.value}@example.test"))

    assert opens(staff, "/admin/")
    assert refused(staff, POLICIES_URL)
    assert refused(staff, PENDING_URL)
    assert refused(staff, reverse("wagtailusers_users:add"))


def test_patients_do_not_get_into_the_admin_at_all():
    patient = signed_in(make_user(Role.PATIENT, email="pat@example.test"))

    assert refused(patient, "/admin/")
    assert refused(patient, "/admin/pages/")
    assert refused(patient, POLICIES_URL)
    assert refused(patient, "/admin/account/")


@pytest.mark.parametrize(
    "url",
    ["/admin/", "/admin/pages/", "/admin/clinic/appointments/?status=booked", "/admin/login/"],
)
def test_a_patient_opening_the_dashboard_lands_on_their_portal_in_one_redirect(url):
    """Regression: Wagtail sent a signed-in patient to the sign-in page, which sent them back to
    /admin/: "too many redirects"."""
    patient = signed_in(make_user(Role.PATIENT, email="pat@example.test"))

    response = patient.get(url)
    assert (response.status_code, response["Location"]) == (302, "/portal/")
    landed = patient.get("/portal/")
    assert landed.status_code == 200
    assert "The staff dashboard is for clinic staff only" in landed.content.decode()


def test_a_patient_posting_to_the_dashboard_changes_nothing_and_lands_on_the_portal():
    from django.forms.models import model_to_dict

    before = model_to_dict(ClinicPolicies.load())
    patient = signed_in(make_user(Role.PATIENT, email="pat@example.test"))
    response = patient.post(f"{POLICIES_URL}1/", {"max_administrators": "9"})
    assert (response.status_code, response["Location"]) == (302, "/portal/")
    assert model_to_dict(ClinicPolicies.load()) == before


def test_a_staff_account_without_dashboard_access_gets_a_refusal_not_a_loop():
    receptionist = make_user(Role.RECEPTIONIST, email="desk@example.test")
    # The role's group lost its dashboard access by mistake.
    group = Group.objects.get(name=Role.RECEPTIONIST.group_name)
    group.permissions.remove(Permission.objects.get(codename="access_admin"))
    response = signed_in(receptionist).get("/admin/")
    assert response.status_code == 403


def test_visitors_are_still_asked_to_sign_in_for_the_dashboard():
    response = Client().get("/admin/clinic/appointments/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/admin/clinic/appointments/")


def test_the_staff_account_page_sends_visitors_to_sign_in_and_opens_for_staff():
    """Regression: our account view is mounted beside Wagtail's admin URLs, so it needs the admin's
    access check itself (a visitor got a server error; a patient got the staff page)."""
    response = Client().get("/admin/account/")
    assert response.status_code == 302
    assert "login" in response["Location"]
    receptionist = signed_in(make_user(Role.RECEPTIONIST, email="desk@example.test"))
    assert opens(receptionist, "/admin/account/")


def test_admin_opens_clinic_policies_doctor_snippets_users_and_pending_accounts(admin):
    doctor = DoctorFactory()
    client = signed_in(admin)

    assert opens(client, "/admin/")
    assert opens(client, "/admin/pages/")
    assert opens(client, POLICIES_URL)
    assert opens(client, f"/admin/snippets/doctors/doctor/edit/{doctor.pk}/")
    assert opens(client, "/admin/users/")
    assert opens(client, reverse("wagtailusers_users:add"))
    assert opens(client, PENDING_URL)


# --- activation policy --------------------------------------------------------------------------


def test_with_activation_off_a_new_patient_can_sign_in_at_once():
    client = Client()
    assert register_patient(client, "new@example.test").status_code == 302
    user = User.objects.get(email="new@example.test")
    assert user.is_active

    assert web_login(Client(), "new@example.test", NEW_PASSWORD).status_code == 302


def test_new_patient_waits_for_activation_by_the_service(admin, django_capture_on_commit_callbacks):
    set_policies(accounts_need_activation=True)
    assert register_patient(Client(), "new@example.test").status_code == 302
    user = User.objects.get(email="new@example.test")
    assert not user.is_active
    assert user.awaiting_activation

    refused_login = web_login(Client(), "new@example.test", NEW_PASSWORD)
    assert refused_login.status_code == 200
    assert WAITING_MESSAGE in refused_login.content.decode()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        user_activate(user=user, actor=admin)
    assert activation_mails("new@example.test") == []  # not before the commit
    for callback in callbacks:
        callback()

    assert len(activation_mails("new@example.test")) == 1
    user.refresh_from_db()
    assert user.is_active
    assert user.activated_at is not None
    client = Client()
    assert web_login(client, "new@example.test", NEW_PASSWORD).status_code == 302
    assert client.get("/portal/").status_code == 200


def test_new_patient_is_activated_from_the_pending_accounts_screen(
    admin, django_capture_on_commit_callbacks
):
    set_policies(accounts_need_activation=True)
    register_patient(Client(), "new@example.test")
    user = User.objects.get(email="new@example.test")
    staff = signed_in(admin)
    listing = staff.get(PENDING_URL)
    assert listing.status_code == 200
    assert "new@example.test" in listing.content.decode()
    assert web_login(Client(), "new@example.test", NEW_PASSWORD).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(PENDING_URL, {"user": user.pk})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.is_active
    assert len(activation_mails("new@example.test")) == 1
    assert "new@example.test" not in staff.get(PENDING_URL).content.decode()
    assert web_login(Client(), "new@example.test", NEW_PASSWORD).status_code == 302


def test_activating_twice_sends_one_email(admin, django_capture_on_commit_callbacks):
    set_policies(accounts_need_activation=True)
    register_patient(Client(), "new@example.test")
    user = User.objects.get(email="new@example.test")

    with django_capture_on_commit_callbacks(execute=True):
        user_activate(user=user, actor=admin)
        user_activate(user=user, actor=admin)

    assert len(activation_mails("new@example.test")) == 1


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.RECEPTIONIST, Role.EDITOR, Role.PATIENT])
def test_non_admins_cannot_activate_from_the_pending_screen(
    role, django_capture_on_commit_callbacks
):
    set_policies(accounts_need_activation=True)
    register_patient(Client(), "new@example.test")
    waiting = User.objects.get(email="new@example.test")
    client = signed_in(make_user(role, email=f"{role.value}@example.test"))

    listing = client.get(PENDING_URL)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(PENDING_URL, {"user": waiting.pk})

    assert listing.status_code != 200
    assert response.status_code != 200
    assert "new@example.test" not in listing.content.decode()
    waiting.refresh_from_db()
    assert not waiting.is_active
    assert activation_mails("new@example.test") == []


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.RECEPTIONIST, Role.EDITOR])
def test_pending_screen_turns_non_admin_staff_away_like_every_admin_screen(role):
    """Wagtail's convention for a screen a staff member may not use: back to the dashboard
    with a "no permission" message, nothing shown and nothing changed."""
    set_policies(accounts_need_activation=True)
    register_patient(Client(), "new@example.test")
    waiting = User.objects.get(email="new@example.test")
    client = signed_in(make_user(role, email=f"{role.value}@example.test"))

    for response in (client.get(PENDING_URL), client.post(PENDING_URL, {"user": waiting.pk})):
        assert response.status_code == 302
        assert response.url == reverse("wagtailadmin_home")
        assert "new@example.test" not in response.content.decode()
    waiting.refresh_from_db()
    assert not waiting.is_active


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.RECEPTIONIST, Role.EDITOR, Role.PATIENT])
def test_only_admins_may_activate_through_the_service(role):
    set_policies(accounts_need_activation=True)
    register_patient(Client(), "new@example.test")
    waiting = User.objects.get(email="new@example.test")
    actor = make_user(role, email=f"{role.value}@example.test")

    with pytest.raises(Forbidden):
        user_activate(user=waiting, actor=actor)

    waiting.refresh_from_db()
    assert not waiting.is_active


# --- administrator limit -----------------------------------------------------------------------


def test_the_default_limit_is_two_administrators():
    assert ClinicPolicies.load().max_administrators == 2


def test_promoting_a_third_admin_is_refused_and_changes_nothing(two_admins):
    admin, _ = two_admins
    doctor = make_user(Role.DOCTOR, email="doc@example.test")
    before = active_admins()

    with pytest.raises(AdministratorLimitReached):
        user_set_role(user=doctor, role=Role.ADMIN, actor=admin)

    assert active_admins() == before
    doctor = User.objects.get(pk=doctor.pk)
    assert doctor.role == Role.DOCTOR
    assert list(doctor.groups.values_list("name", flat=True)) == ["Doctor"]


def test_creating_a_third_admin_is_refused_and_stores_nothing(two_admins):
    admin, _ = two_admins
    before = active_admins()

    with pytest.raises(AdministratorLimitReached):
        staff_create(
            email="third@example.test",
            full_name="Third Admin",
            role=Role.ADMIN,
            actor=admin,
            password=NEW_PASSWORD,
        )

    assert not User.objects.filter(email="third@example.test").exists()
    assert active_admins() == before


def test_reactivating_an_admin_beyond_the_limit_is_refused(two_admins):
    admin, _ = two_admins
    dormant = make_user(Role.ADMIN, email="dormant@example.test", is_active=False)

    with pytest.raises(AdministratorLimitReached):
        user_activate(user=dormant, actor=admin)

    dormant.refresh_from_db()
    assert not dormant.is_active


def test_inactive_admins_do_not_count_towards_the_limit(admin):
    make_user(Role.ADMIN, email="dormant@example.test", is_active=False)
    doctor = make_user(Role.DOCTOR, email="doc@example.test")

    user_set_role(user=doctor, role=Role.ADMIN, actor=admin)

    assert User.objects.get(pk=doctor.pk).role == Role.ADMIN


def test_raising_the_limit_to_three_allows_a_third_admin(two_admins):
    admin, _ = two_admins
    set_policies(max_administrators=3)
    doctor = make_user(Role.DOCTOR, email="doc@example.test")

    user_set_role(user=doctor, role=Role.ADMIN, actor=admin)
    assert User.objects.get(pk=doctor.pk).role == Role.ADMIN
    assert len(active_admins()) == 3

    with pytest.raises(AdministratorLimitReached):
        staff_create(email="fourth@example.test", full_name="Fourth", role=Role.ADMIN, actor=admin)
    assert not User.objects.filter(email="fourth@example.test").exists()


def test_admin_add_screen_shows_the_limit_as_a_form_error(two_admins):
    admin, _ = two_admins
    client = signed_in(admin)
    data = user_form_data(
        email="third@example.test",
        full_name="Third Admin",
        role="admin",
        password1=NEW_PASSWORD,
        password2=NEW_PASSWORD,
    )

    response = client.post(reverse("wagtailusers_users:add"), data)

    assert response.status_code == 200
    assert "limit is 2" in response.content.decode()
    assert response.context["form"].errors
    assert not User.objects.filter(email="third@example.test").exists()
    assert len(active_admins()) == 2


def test_admin_edit_screen_shows_the_limit_as_a_form_error(two_admins):
    admin, _ = two_admins
    doctor = make_user(Role.DOCTOR, email="doc@example.test")
    client = signed_in(admin)

    response = client.post(
        reverse("wagtailusers_users:edit", args=[doctor.pk]),
        user_form_data(doctor, role="admin", full_name="Renamed Doctor"),
    )

    assert response.status_code == 200
    assert "limit is 2" in response.content.decode()
    doctor = User.objects.get(pk=doctor.pk)
    assert doctor.role == Role.DOCTOR
    assert doctor.full_name != "Renamed Doctor"  # the whole save is undone
    assert len(active_admins()) == 2


def test_admin_add_screen_creates_a_third_admin_once_the_limit_is_three(two_admins):
    admin, _ = two_admins
    set_policies(max_administrators=3)
    client = signed_in(admin)
    data = user_form_data(
        email="Third@Example.test",
        full_name="Third Admin",
        role="admin",
        password1=NEW_PASSWORD,
        password2=NEW_PASSWORD,
    )

    response = client.post(reverse("wagtailusers_users:add"), data)

    assert response.status_code == 302
    third = User.objects.get(email="third@example.test")
    assert third.role == Role.ADMIN
    assert third.is_active
    assert web_login(Client(), "third@example.test", NEW_PASSWORD).status_code == 302


def test_admin_add_screen_creates_staff_below_the_limit(admin):
    client = signed_in(admin)
    data = user_form_data(
        email="desk@example.test",
        full_name="Front Desk",
        role="receptionist",
        password1=NEW_PASSWORD,
        password2=NEW_PASSWORD,
    )

    response = client.post(reverse("wagtailusers_users:add"), data)

    assert response.status_code == 302
    assert User.objects.get(email="desk@example.test").role == Role.RECEPTIONIST


def test_only_admins_may_change_roles(two_admins):
    desk = make_user(Role.RECEPTIONIST, email="desk@example.test")
    doctor = make_user(Role.DOCTOR, email="doc@example.test")

    with pytest.raises(Forbidden):
        user_set_role(user=doctor, role=Role.RECEPTIONIST, actor=desk)
    with pytest.raises(Forbidden):
        staff_create(email="x@example.test", full_name="X", role=Role.DOCTOR, actor=desk)

    assert User.objects.get(pk=doctor.pk).role == Role.DOCTOR
    assert not User.objects.filter(email="x@example.test").exists()


# --- the last administrator ----------------------------------------------------------------------


def test_the_last_active_admin_cannot_be_deactivated(admin):
    make_user(Role.ADMIN, email="dormant@example.test", is_active=False)

    with pytest.raises(LastAdministrator):
        user_deactivate(user=admin, actor=admin)

    admin.refresh_from_db()
    assert admin.is_active


def test_the_last_active_admin_cannot_be_demoted(admin):
    with pytest.raises(LastAdministrator):
        user_set_role(user=admin, role=Role.DOCTOR, actor=admin)

    assert User.objects.get(pk=admin.pk).role == Role.ADMIN
    assert active_admins() == {admin.pk}


def test_one_of_two_admins_can_be_deactivated_but_then_not_the_other(two_admins):
    first, second = two_admins

    user_deactivate(user=second, actor=first)

    second.refresh_from_db()
    assert not second.is_active
    with pytest.raises(LastAdministrator):
        user_deactivate(user=first, actor=first)
    with pytest.raises(LastAdministrator):
        user_set_role(user=first, role=Role.EDITOR, actor=first)
    assert active_admins() == {first.pk}


def test_one_of_two_admins_can_be_demoted(two_admins):
    first, second = two_admins

    user_set_role(user=second, role=Role.EDITOR, actor=first)

    assert User.objects.get(pk=second.pk).role == Role.EDITOR
    assert active_admins() == {first.pk}


def test_an_admin_cannot_demote_or_deactivate_themself_on_the_edit_screen(admin):
    client = signed_in(admin)
    url = reverse("wagtailusers_users:edit", args=[admin.pk])

    form = client.get(url).context["form"]
    assert "role" not in form.fields
    assert "is_active" not in form.fields

    response = client.post(url, user_form_data(admin, role="doctor", is_active=None))

    assert response.status_code in (200, 302)
    admin = User.objects.get(pk=admin.pk)
    assert admin.is_active
    assert admin.role == Role.ADMIN


def test_admin_edit_screen_deactivates_one_of_two_admins(two_admins):
    first, second = two_admins
    client = signed_in(first)

    response = client.post(
        reverse("wagtailusers_users:edit", args=[second.pk]),
        user_form_data(second, is_active=None),
    )

    assert response.status_code == 302
    assert active_admins() == {first.pk}
