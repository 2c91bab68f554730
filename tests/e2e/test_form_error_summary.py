"""The error summary in the system Chromium: after a failed submit it has focus, its links move
focus to their fields (with the field's label in view, below the sticky header), and the title
starts with "Error:" — at desktop and phone width (issue 12, item 4)."""

import pytest
from playwright.sync_api import expect

from clinic_site.accounts.roles import Role
from tests.e2e.conftest import DESKTOP
from tests.factories import make_user

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WIDTHS = {"desktop": DESKTOP, "phone": {"width": 390, "height": 844}}


def submit_bad_registration(page):
    page.goto("/accounts/register/")
    page.get_by_label("E-mail address").fill("not-an-address")
    page.get_by_label("Password", exact=True).fill("Quiet-river-2026")
    page.get_by_label("Repeat the password").fill("Loud-river-2026")
    page.locator("#id_phone").fill("call me")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_load_state()


def assert_label_in_view_below_header(page, field_id: str) -> None:
    label = page.locator(f"label[for='{field_id}']").bounding_box()
    header = page.locator(".site-header").bounding_box()
    viewport = page.viewport_size
    assert label is not None and header is not None
    assert label["y"] >= header["y"] + header["height"], (label, header)
    assert label["y"] + label["height"] <= viewport["height"], (label, viewport)


@pytest.mark.parametrize("width", list(WIDTHS))
def test_failed_registration_focuses_the_summary_and_its_links_focus_the_fields(page, width):
    page.set_viewport_size(WIDTHS[width])
    submit_bad_registration(page)

    assert page.title().startswith("Error: Create an account")
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    expect(summary.get_by_role("heading", name="There is a problem")).to_be_visible()
    links = summary.get_by_role("link")
    expect(links).to_have_count(5)  # e-mail, repeat password, full name, birth date, phone

    # A field further down the form: focus moves to it and its label is not under the header.
    summary.get_by_role("link", name="Phone:").click()
    expect(page.locator("#id_phone")).to_be_focused()
    assert_label_in_view_below_header(page, "id_phone")

    # Back up the page to the first one.
    summary.get_by_role("link", name="E-mail address:").click()
    expect(page.locator("#id_email")).to_be_focused()
    assert_label_in_view_below_header(page, "id_email")


def test_summary_links_work_from_the_keyboard(page):
    submit_bad_registration(page)
    expect(page.locator("#error-summary")).to_be_focused()

    page.keyboard.press("Tab")
    first_link = page.locator("#error-summary a").first
    expect(first_link).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#id_email")).to_be_focused()


def test_failed_sign_in_focuses_the_summary_rather_than_the_autofocused_field(page):
    make_user(Role.PATIENT, email="known@example.test")
    page.goto("/accounts/login/")
    page.get_by_label("E-mail address or national ID").fill("known@example.test")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()

    assert page.title().startswith("Error: Sign in")
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator("#error-summary")).to_contain_text("do not match an account")


def test_page_without_errors_keeps_its_title_and_focus(page):
    page.goto("/accounts/register/")
    page.wait_for_load_state()

    assert not page.title().startswith("Error:")
    expect(page.locator("[data-error-summary]")).to_have_count(0)
    assert page.evaluate("document.activeElement === document.body")
