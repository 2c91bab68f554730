"""The GOV.UK error pattern on every public and portal form (issue 12, item 4).

A form that comes back with errors shows a summary at its top ("There is a problem", one link per
error to the field's input, errors of the whole form without a link), puts "Error: " at the start
of the page title, and ties each bad input to its own error message with `aria-describedby` and
`aria-invalid`. A form without errors shows none of it. Covers the forms rendered whole through
forms/form.html (sign-in, password reset) and those laid out by hand (registration, profile,
e-mail confirmation), plus the pieces in clinic_site/forms.py on small forms of their own.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django import forms

from clinic_site.accounts.forms import LOGIN_FAILED_MESSAGE
from clinic_site.accounts.roles import Role
from clinic_site.forms import ClinicFormMixin
from tests.factories import make_user
from tests.factories.accounts import PASSWORD

REGISTER_URL = "/accounts/register/"
LOGIN_URL = "/accounts/login/"
EDIT_URL = "/accounts/profile/edit/"
VERIFY_URL = "/accounts/verify/"
PASSWORD_RESET_URL = "/accounts/password-reset/"

# Five fields wrong at once, in page order: e-mail, repeat password, full name, date of birth,
# phone (registration lays its fields out as "Your account" first, then "About you").
BAD_REGISTRATION = {
    "email": "not-an-address",
    "password1": "Quiet-river-2026",
    "password2": "Loud-river-2026",
    "full_name": "",
    "phone": "call me",
    "date_of_birth": "",
}
BAD_FIELDS = ["email", "password2", "full_name", "date_of_birth", "phone"]


class Page(HTMLParser):
    """What these tests read of a page: its title, every element by id, the error summary."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.by_id: dict[str, dict[str, str]] = {}
        self.summaries: list[dict] = []
        self.describedby_of_fieldsets: set[str] = set()
        self._in_title = False
        self._summary_depth = 0  # open <div>s since the summary's own
        self._item: dict | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = {name: value or "" for name, value in attrs}
        if "id" in attrs:
            self.by_id[attrs["id"]] = {"tag": tag, **attrs}
        if tag == "title":
            self._in_title = True
        if tag == "fieldset":
            self.describedby_of_fieldsets.update(attrs.get("aria-describedby", "").split())
        if tag == "div" and self._summary_depth:
            self._summary_depth += 1
        elif tag == "div" and "data-error-summary" in attrs:
            self._summary_depth = 1
            self.summaries.append({"attrs": attrs, "heading": "", "items": [], "_in_h2": False})
        elif self._summary_depth and tag == "h2":
            self.summaries[-1]["_in_h2"] = True
        elif self._summary_depth and tag == "li":
            self._item = {"href": None, "text": ""}
        elif self._summary_depth and tag == "a" and self._item is not None:
            self._item["href"] = attrs.get("href")

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        elif tag == "div" and self._summary_depth:
            self._summary_depth -= 1
        elif self._summary_depth and tag == "h2":
            self.summaries[-1]["_in_h2"] = False
        elif self._summary_depth and tag == "li" and self._item is not None:
            self._item["text"] = " ".join(self._item["text"].split())
            self.summaries[-1]["items"].append(self._item)
            self._item = None

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        if self._summary_depth and self.summaries[-1]["_in_h2"]:
            self.summaries[-1]["heading"] += data
        if self._item is not None:
            self._item["text"] += data

    @property
    def summary(self) -> dict:
        assert len(self.summaries) == 1, f"expected one error summary, found {len(self.summaries)}"
        return self.summaries[0]


def page_of(response) -> Page:
    return Page(response.content.decode())


# Fields of several inputs (the date of birth's day / month / year): the summary links to the
# first; the inputs are marked invalid and their fieldset is described by the error.
MULTI_PART = {"date_of_birth": 3}


def summary_target(field: str) -> str:
    return f"#id_{field}_0" if field in MULTI_PART else f"#id_{field}"


def assert_field_tied_to_its_error(page: Page, field: str) -> None:
    input_id = f"id_{field}"
    error_list = page.by_id.get(f"{input_id}_error")
    assert error_list is not None and "errorlist" in error_list.get("class", "")
    if field in MULTI_PART:
        for part in range(MULTI_PART[field]):
            assert page.by_id[f"{input_id}_{part}"].get("aria-invalid") == "true"
        assert f"{input_id}_error" in page.describedby_of_fieldsets
        return
    element = page.by_id[input_id]
    assert element.get("aria-invalid") == "true", element
    described_by = element.get("aria-describedby", "").split()
    assert f"{input_id}_error" in described_by, element


# --- Forms laid out by hand ---------------------------------------------------------------------


@pytest.mark.django_db
def test_registration_with_bad_fields_lists_each_error_in_a_summary_linked_to_its_input(client):
    response = client.post(REGISTER_URL, BAD_REGISTRATION)

    assert response.status_code == 200  # as before: the form again, nothing stored
    page = page_of(response)
    summary = page.summary
    assert summary["heading"].strip() == "There is a problem"
    assert summary["attrs"].get("tabindex") == "-1"
    assert [item["href"] for item in summary["items"]] == [summary_target(f) for f in BAD_FIELDS]
    texts = [item["text"] for item in summary["items"]]
    assert texts[0].startswith("E-mail address: ")
    assert "The two passwords are not the same." in texts[1]
    assert texts[2] == "Full name: This field is required."
    # Each link goes to an input that is on the page.
    for item in summary["items"]:
        assert page.by_id[item["href"][1:]]["tag"] in ("input", "select", "textarea")


@pytest.mark.django_db
def test_registration_with_errors_has_error_at_the_start_of_the_title(client):
    page = page_of(client.post(REGISTER_URL, BAD_REGISTRATION))

    assert page.title.startswith("Error: Create an account")


@pytest.mark.django_db
def test_each_bad_registration_input_is_invalid_and_described_by_its_error(client):
    page = page_of(client.post(REGISTER_URL, BAD_REGISTRATION))

    for field in BAD_FIELDS:
        assert_field_tied_to_its_error(page, field)
    # The help text stays in the description, next to the error.
    assert page.by_id["id_email"]["aria-describedby"].split() == [
        "id_email_helptext",
        "id_email_error",
    ]
    # A field without an error is left alone.
    assert "aria-invalid" not in page.by_id["id_password1"]
    assert page.by_id["id_password1"]["aria-describedby"] == "id_password1_helptext"


@pytest.mark.django_db
def test_registration_page_without_a_submit_has_no_summary_and_no_error_title(client):
    response = client.get(REGISTER_URL)

    assert response.status_code == 200
    page = page_of(response)
    assert page.summaries == []
    assert not page.title.startswith("Error:")
    assert page.title.startswith("Create an account")
    assert "There is a problem" not in response.content.decode()


@pytest.mark.django_db
def test_profile_edit_with_a_bad_phone_lists_it_in_the_summary(client):
    client.force_login(make_user(Role.PATIENT, email="nora@example.test"))

    response = client.post(
        EDIT_URL, {"full_name": "Nora Quinn", "phone": "call me", "date_of_birth": "1990-02-03"}
    )

    assert response.status_code == 200
    page = page_of(response)
    assert [item["href"] for item in page.summary["items"]] == ["#id_phone"]
    assert page.summary["items"][0]["text"].startswith("Phone: ")
    assert page.title.startswith("Error: Edit your details")
    assert_field_tied_to_its_error(page, "phone")
    assert "Please correct the fields marked below." not in response.content.decode()


@pytest.mark.django_db
def test_verify_email_with_a_bad_code_lists_it_in_the_summary(client):
    response = client.post(VERIFY_URL, {"email": "", "code": "12345x"})

    page = page_of(response)
    assert [item["href"] for item in page.summary["items"]] == ["#id_email", "#id_code"]
    assert page.summary["items"][1]["text"] == "Code: The code is six digits."
    assert page.title.startswith("Error: Confirm your e-mail")
    assert_field_tied_to_its_error(page, "email")
    assert_field_tied_to_its_error(page, "code")
    assert "id_code_helptext" in page.by_id["id_code"]["aria-describedby"].split()


# --- Forms rendered whole through forms/form.html -----------------------------------------------


@pytest.mark.django_db
def test_wrong_password_is_listed_in_the_login_summary_without_a_link(client):
    make_user(Role.PATIENT, email="known@example.test")

    response = client.post(LOGIN_URL, {"username": "known@example.test", "password": "Wrong-1"})

    assert response.status_code == 200
    page = page_of(response)
    assert page.summary["heading"].strip() == "There is a problem"
    assert page.summary["items"] == [{"href": None, "text": LOGIN_FAILED_MESSAGE}]
    assert page.title.startswith("Error: Sign in")
    # A problem of the whole form marks no field as wrong.
    assert "aria-invalid" not in page.by_id["id_username"]
    assert "aria-invalid" not in page.by_id["id_password"]


@pytest.mark.django_db
def test_login_with_an_empty_field_links_to_it(client):
    page = page_of(client.post(LOGIN_URL, {"username": "known@example.test", "password": ""}))

    assert [item["href"] for item in page.summary["items"]] == ["#id_password"]
    assert_field_tied_to_its_error(page, "password")


@pytest.mark.django_db
def test_sign_in_page_and_a_good_sign_in_show_no_summary(client):
    make_user(Role.PATIENT, email="known@example.test")

    page = page_of(client.get(LOGIN_URL))
    assert page.summaries == []
    assert not page.title.startswith("Error:")
    signed_in = client.post(LOGIN_URL, {"username": "known@example.test", "password": PASSWORD})
    assert signed_in.status_code == 302


@pytest.mark.django_db
def test_password_reset_with_a_bad_address_shows_the_summary(client):
    page = page_of(client.post(PASSWORD_RESET_URL, {"email": "nobody"}))

    assert [item["href"] for item in page.summary["items"]] == ["#id_email"]
    assert page.title.startswith("Error: Reset your password")
    assert_field_tied_to_its_error(page, "email")


# --- The pieces, on forms of their own -----------------------------------------------------------


class ChoicesForm(ClinicFormMixin, forms.Form):
    colour = forms.ChoiceField(
        label="Colour", choices=[("red", "Red"), ("blue", "Blue")], widget=forms.RadioSelect
    )
    when = forms.SplitDateTimeField(label="When")
    note = forms.CharField(
        label="Note", widget=forms.TextInput(attrs={"aria-describedby": "note-hint"})
    )
    token = forms.CharField(widget=forms.HiddenInput)


def test_summary_links_to_the_first_input_of_a_group_and_lists_hidden_errors_unlinked():
    form = ChoicesForm(data={"colour": "green"})

    summary = form.error_summary()

    hidden, *fields = summary
    assert hidden.target == ""
    assert hidden.message == "This field is required."
    assert [error.target for error in fields] == ["id_colour_0", "id_when_0", "id_note"]
    html = form.as_div()
    for target in ("id_colour_0", "id_when_0", "id_note"):
        assert f'id="{target}"' in html


def test_error_is_added_to_a_widget_that_describes_itself():
    form = ChoicesForm(data={"colour": "red", "token": "x"})

    html = str(form["note"])

    assert 'aria-describedby="note-hint id_note_error"' in html
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="note-hint"' in str(ChoicesForm()["note"])


def test_unbound_and_valid_forms_have_an_empty_summary():
    good = ChoicesForm(
        data={
            "colour": "red",
            "when_0": "2026-01-02",
            "when_1": "10:00",
            "note": "hi",
            "token": "t",
        }
    )

    assert ChoicesForm().error_summary() == []
    assert good.is_valid(), good.errors
    assert good.error_summary() == []
    assert "There is a problem" not in good.as_div()
