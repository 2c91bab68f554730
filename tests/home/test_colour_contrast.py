"""The design tokens' text colours meet WCAG 2.1 AA (4.5:1 for body-size text) on every surface
they are drawn on. Regression: `--color-subtle` (optional-field hints, "no times this day")
measured 4.39:1 on white and 4.08:1 on the alternate surface (axe: color-contrast)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEXT = ["--color-ink", "--color-text", "--color-muted", "--color-subtle"]
SURFACES = ["--color-surface", "--color-surface-alt", "--color-bg"]


def tokens() -> dict[str, str]:
    css = (ROOT / "static" / "css" / "clinic.css").read_text()
    return dict(re.findall(r"(--color-[\w-]+):\s*(#[0-9a-fA-F]{6})\s*;", css))


def luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_formula_matches_known_pairs():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("text", TEXT)
def test_text_tokens_meet_aa_on_every_surface(text, surface):
    colours = tokens()
    ratio = contrast(colours[text], colours[surface])
    assert ratio >= 4.5, f"{text} on {surface}: {ratio:.2f}:1"


def rules(path: str) -> list[tuple[str, str]]:
    css = re.sub(r"/\*.*?\*/", "", (ROOT / path).read_text(), flags=re.S)
    return [(sel.strip(), body) for sel, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css)]


STYLESHEETS = ["static/css/clinic.css", "static/dashboard/dashboard.css"]


@pytest.mark.parametrize("path", STYLESHEETS)
def test_every_rule_that_sets_text_and_background_meets_aa(path):
    """Badges, tags, calendar entries and past days: each rule naming both colours."""
    weak = []
    for selector, body in rules(path):
        background = re.search(r"background(?:-color)?:\s*(#[0-9a-fA-F]{6})\s*;", body)
        colour = re.search(r"(?<![-\w])color:\s*(#[0-9a-fA-F]{6})\s*;", body)
        if background and colour:
            ratio = contrast(colour.group(1), background.group(1))
            if ratio < 4.5:
                weak.append(f"{selector}: {ratio:.2f}:1")
    assert not weak


def test_past_days_of_the_schedule_preview_are_not_dimmed_with_opacity():
    """Regression (axe: color-contrast on /admin/clinic/schedules/<id>/): past days were drawn at
    60 % opacity, which took their text to about 4:1."""
    past = [body for selector, body in rules(STYLESHEETS[1]) if "cp-preview__day--past" in selector]
    assert past
    assert not [body for body in past if "opacity" in body]
