"""Illustrated doctor portraits, drawn locally with Pillow.

Demo and seed data need a face for every doctor, but demo data must not download photos:
fetching stock images is slow, flaky offline and raises licensing and privacy questions.
Instead we draw a calm, flat-style head-and-shoulders illustration whose look (background,
skin tone, hair, glasses, scrubs, stethoscope colour) is derived from a seed string, so
the same doctor always gets the same byte-identical PNG.
"""

from __future__ import annotations

import hashlib
import io
import math
import random
from collections.abc import Sequence

from PIL import Image, ImageDraw

RGB = tuple[int, int, int]
Point = tuple[float, float]

# Background palettes: (top, bottom, halo disc behind the head).
BACKGROUNDS: tuple[tuple[RGB, RGB, RGB], ...] = (
    ((205, 235, 231), (133, 199, 191), (226, 245, 242)),  # teal
    ((214, 234, 250), (150, 196, 236), (234, 244, 253)),  # sky blue
    ((227, 237, 222), (170, 199, 162), (240, 246, 236)),  # sage
    ((234, 228, 246), (189, 175, 226), (245, 241, 251)),  # lavender
    ((247, 236, 221), (224, 199, 160), (252, 246, 237)),  # sand
    ((251, 227, 219), (239, 176, 160), (253, 240, 235)),  # soft coral
    ((218, 240, 232), (150, 208, 188), (236, 248, 243)),  # mint
    ((225, 232, 244), (168, 185, 216), (240, 244, 250)),  # periwinkle
)

# Light to deep, roughly evenly spaced.
SKIN_TONES: tuple[RGB, ...] = (
    (246, 215, 195),
    (238, 195, 163),
    (222, 168, 128),
    (195, 134, 98),
    (160, 104, 70),
    (125, 78, 50),
    (92, 56, 36),
)

HAIR_COLOURS: tuple[RGB, ...] = (
    (34, 28, 26),  # black
    (62, 42, 31),  # dark brown
    (110, 74, 46),  # brown
    (140, 66, 36),  # auburn
    (214, 176, 106),  # blonde
    (168, 168, 170),  # grey
)

SCRUB_COLOURS: tuple[RGB, ...] = (
    (46, 139, 134),  # teal
    (47, 74, 122),  # navy
    (86, 148, 204),  # ceil blue
    (140, 59, 74),  # wine
    (62, 123, 90),  # forest
    (106, 90, 168),  # purple
)

SCARF_COLOURS: tuple[RGB, ...] = (
    (44, 58, 92),  # navy
    (122, 48, 64),  # burgundy
    (98, 110, 74),  # olive
    (190, 132, 140),  # dusty rose
    (86, 98, 112),  # slate
    (58, 120, 128),  # deep teal
)

TUBE_COLOURS: tuple[RGB, ...] = ((44, 52, 64), (36, 62, 110), (30, 110, 108), (120, 40, 56))

HAIR_STYLES: tuple[str, ...] = ("short", "long", "bun", "curly", "buzz", "hijab")
HAIR_WEIGHTS: tuple[int, ...] = (24, 20, 14, 16, 12, 12)

COAT = (248, 250, 252)
COAT_SHADE = (222, 229, 236)
COAT_LINE = (196, 206, 216)
METAL = (196, 204, 212)
METAL_DARK = (130, 140, 152)
EYE = (40, 32, 30)


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    """Blend colour a towards b by t (0..1)."""
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def _cubic(p0: Point, p1: Point, p2: Point, p3: Point, steps: int = 24) -> list[Point]:
    """Sample a cubic Bézier curve (inclusive of both ends)."""
    pts = []
    for i in range(steps + 1):
        t = i / steps
        u = 1 - t
        pts.append(
            (
                u**3 * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t**3 * p3[0],
                u**3 * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t**3 * p3[1],
            )
        )
    return pts


def _arc_points(
    cx: float, cy: float, a: float, b: float, start: float, end: float, steps: int = 40
) -> list[Point]:
    """Points along an ellipse; angles in degrees, PIL convention (0 = 3 o'clock, clockwise)."""
    pts = []
    for i in range(steps + 1):
        t = math.radians(start + (end - start) * i / steps)
        pts.append((cx + a * math.cos(t), cy + b * math.sin(t)))
    return pts


class _Canvas:
    """ImageDraw wrapper taking coordinates in unit space (0..1 of the square side)."""

    def __init__(self, image: Image.Image) -> None:
        self.image = image
        self.side = image.width
        self.draw = ImageDraw.Draw(image)

    def px(self, v: float) -> float:
        return v * self.side

    def pts(self, points: Sequence[Point]) -> list[Point]:
        s = self.side
        return [(x * s, y * s) for x, y in points]

    def box(self, x0: float, y0: float, x1: float, y1: float) -> list[float]:
        s = self.side
        return [x0 * s, y0 * s, x1 * s, y1 * s]

    def ellipse(self, cx: float, cy: float, a: float, b: float, fill: RGB) -> None:
        self.draw.ellipse(self.box(cx - a, cy - b, cx + a, cy + b), fill=fill)

    def polygon(self, points: Sequence[Point], fill: RGB) -> None:
        self.draw.polygon(self.pts(points), fill=fill)

    def line(self, points: Sequence[Point], colour: RGB, width: float, caps: bool = True) -> None:
        w = max(1, round(self.px(width)))
        self.draw.line(self.pts(points), fill=colour, width=w, joint="curve")
        if caps:  # round the ends
            for x, y in (points[0], points[-1]):
                self.ellipse(x, y, width / 2, width / 2, colour)

    def arc(
        self,
        cx: float,
        cy: float,
        a: float,
        b: float,
        start: float,
        end: float,
        colour: RGB,
        width: float,
    ) -> None:
        # Drawn as a polyline so the ends can be rounded.
        self.line(_arc_points(cx, cy, a, b, start, end, 24), colour, width)

    def rounded(self, x0: float, y0: float, x1: float, y1: float, radius: float, fill: RGB) -> None:
        self.draw.rounded_rectangle(self.box(x0, y0, x1, y1), radius=self.px(radius), fill=fill)


class _Look:
    """Every seed-driven choice for one portrait, made up front in a fixed order."""

    def __init__(self, rng: random.Random, palette_index: int | None) -> None:
        bg = rng.randrange(len(BACKGROUNDS))
        self.background = BACKGROUNDS[bg if palette_index is None else palette_index % 8]
        self.skin = rng.choice(SKIN_TONES)
        self.style = rng.choices(HAIR_STYLES, weights=HAIR_WEIGHTS)[0]
        self.hair = rng.choice(HAIR_COLOURS)
        self.scarf = rng.choice(SCARF_COLOURS)
        self.scrub = rng.choice(SCRUB_COLOURS)
        self.tube = rng.choice(TUBE_COLOURS)
        self.glasses = rng.random() < 0.3
        # Frames must contrast with the skin: dark frames on light skin, light on deep skin.
        dark_frames = ((40, 36, 36), (110, 70, 44), (70, 84, 104))
        light_frames = ((206, 176, 112), (196, 202, 210), (214, 150, 96))
        self.frame = rng.choice(dark_frames if sum(self.skin) > 420 else light_frames)
        self.flip = rng.random() < 0.5  # mirror side-parting and stethoscope drape
        self.head_w = rng.uniform(0.136, 0.146)
        self.head_h = rng.uniform(0.168, 0.178)
        self.smile = rng.uniform(0.85, 1.15)


# Fixed layout, in unit coordinates of the square.
CX = 0.5
HEAD_CY = 0.395
NECK_W = 0.07
COLLAR_Y = 0.63  # where the neck meets the coat


class _Head:
    """Maps head-relative coordinates (u, v in -1..1 across the head ellipse) to unit space."""

    def __init__(self, a: float, b: float) -> None:
        self.a, self.b = a, b

    def __call__(self, u: float, v: float) -> Point:
        return (CX + u * self.a, HEAD_CY + v * self.b)

    def curve(self, *uv: Point, steps: int = 20) -> list[Point]:
        p0, p1, p2, p3 = (self(u, v) for u, v in uv)
        return _cubic(p0, p1, p2, p3, steps)

    def arc(
        self, cu: float, cv: float, ru: float, rv: float, start: float, end: float
    ) -> list[Point]:
        x, y = self(cu, cv)
        return _arc_points(x, y, ru * self.a, rv * self.b, start, end)


def _background(look: _Look, side: int) -> Image.Image:
    top, bottom, halo = look.background
    grad = Image.linear_gradient("L").resize((side, side), Image.BILINEAR)
    bottom_img = Image.new("RGB", (side, side), bottom)
    img = Image.composite(bottom_img, Image.new("RGB", (side, side), top), grad)
    _Canvas(img).ellipse(CX, 0.45, 0.38, 0.38, halo)
    return img


def _mirror(points: Sequence[Point], flip: bool) -> list[Point]:
    return [(2 * CX - x, y) for x, y in points] if flip else list(points)


def _hair_back(c: _Canvas, look: _Look, h: _Head) -> None:
    """Hair that sits behind the head (and, for long hair, behind the shoulders)."""
    hair, a, b = look.hair, h.a, h.b
    if look.style == "long":
        c.ellipse(CX, HEAD_CY - 0.1 * b, 1.2 * a, 1.08 * b, hair)
        c.rounded(CX - 1.26 * a, HEAD_CY - 0.2 * b, CX + 1.26 * a, 0.76, 0.07, hair)
    elif look.style == "curly":
        cx, cy = h(0, -0.22)
        ra, rb = 1.22 * a, 0.98 * b
        c.ellipse(cx, cy, ra, rb, hair)
        for i in range(18):
            x, y = _arc_points(cx, cy, ra, rb, i * 20, i * 20, 1)[0]
            c.ellipse(x, y, 0.28 * a, 0.28 * a, hair)
    elif look.style == "bun":
        x, y = h(0, -1.12)
        c.ellipse(x, y, 0.42 * a, 0.36 * a, hair)
        c.ellipse(CX, HEAD_CY - 0.06 * b, 1.07 * a, 1.0 * b, hair)
    elif look.style == "short":
        c.ellipse(CX, HEAD_CY - 0.12 * b, 1.08 * a, 0.98 * b, hair)


def _body(c: _Canvas, look: _Look) -> None:
    """Coat over the shoulders, scrubs in the V, neck and collar."""
    neck = _mix(look.skin, (60, 30, 20), 0.14)
    y0 = COLLAR_Y
    # Coat silhouette: trapezius slope from the neck into rounded shoulders.
    left = _cubic((0.09, 1.02), (0.09, 0.83), (0.12, 0.715), (0.24, 0.69), 16)
    left += _cubic((0.24, 0.69), (0.32, 0.675), (0.37, 0.655), (0.42, y0 - 0.008), 12)
    right = [(1 - x, y) for x, y in reversed(left)]
    c.polygon(left + right, COAT_LINE)
    inner = [(x + (0.006 if x < CX else -0.006), y + 0.005) for x, y in left + right]
    c.polygon(inner, COAT)
    # Soft shading down the sleeves.
    for sign in (-1, 1):
        seam = _cubic((0.25, 0.705), (0.225, 0.8), (0.22, 0.9), (0.225, 1.02), 12)
        c.line([(CX + sign * (x - CX), y) for x, y in seam], COAT_SHADE, 0.006)
    # Collar band behind the neck.
    c.ellipse(CX, y0 + 0.005, 0.088, 0.028, COAT_SHADE)
    # Scrubs in the coat's V, with the scrub's own V-neck showing skin.
    c.polygon([(CX - 0.09, y0), (CX + 0.09, y0), (CX, 0.99)], look.scrub)
    c.ellipse(CX, y0 + 0.004, NECK_W + 0.016, 0.02, look.scrub)  # scrub neckline
    c.draw.rectangle(c.box(CX - NECK_W, HEAD_CY, CX + NECK_W, y0 + 0.01), fill=neck)
    c.polygon([(CX - NECK_W, y0), (CX + NECK_W, y0), (CX, y0 + 0.085)], neck)


def _hijab_back(c: _Canvas, look: _Look, h: _Head) -> None:
    """Head-scarf: covers the head and neck and drapes onto the chest inside the coat."""
    scarf, a, b = look.scarf, h.a, h.b
    c.ellipse(CX, HEAD_CY - 0.06 * b, 1.24 * a, 1.16 * b, scarf)
    side = (CX - 1.235 * a, HEAD_CY)
    drape = _cubic(side, (side[0] + 0.005, 0.56), (0.41, 0.62), (0.37, 0.68), 16)
    drape += _cubic((0.37, 0.68), (0.42, 0.745), (0.46, 0.775), (CX, 0.785), 12)
    drape += [(1 - x, y) for x, y in reversed(drape)]
    c.polygon(drape, scarf)
    # Shadow where the scarf wraps under the chin.
    c.ellipse(CX, HEAD_CY + 0.32 * h.b, 0.97 * a, 0.86 * b, _mix(scarf, (0, 0, 0), 0.14))


def _lapels(c: _Canvas) -> None:
    y0 = COLLAR_Y
    for sign in (-1, 1):

        def m(x: float, y: float, s: int = sign) -> Point:
            return (CX + s * x, y)

        c.polygon(
            [m(0.09, y0 - 0.005), m(0.16, y0 + 0.05), m(0.12, y0 + 0.115), m(0.026, y0 + 0.255)],
            COAT_LINE,
        )
        c.polygon(
            [m(0.086, y0 - 0.002), m(0.152, y0 + 0.05), m(0.114, y0 + 0.112), m(0.022, y0 + 0.245)],
            COAT,
        )
    c.line([(CX - 0.024, y0 + 0.245), (CX, 1.0)], COAT_LINE, 0.004)


def _stethoscope(c: _Canvas, look: _Look) -> None:
    tube, y0 = look.tube, COLLAR_Y

    def m(x: float, y: float) -> Point:
        return (CX - x, y) if look.flip else (CX + x, y)

    w = 0.013
    # Both strands come out from behind the neck, over the collar.
    ear_side = _cubic(m(-0.07, y0), m(-0.1, y0 + 0.05), m(-0.118, y0 + 0.11), m(-0.105, y0 + 0.16))
    chest_side = _cubic(m(0.07, y0), m(0.11, y0 + 0.06), m(0.125, y0 + 0.14), m(0.095, y0 + 0.21))
    c.line(ear_side, tube, w)
    c.line(chest_side, tube, w)
    # Binaural: two metal tubes with dark ear tips.
    end = ear_side[-1]
    for dx in (-0.02, 0.02):
        tip = (end[0] + dx, end[1] + 0.05)
        c.line(
            _cubic(end, (end[0], end[1] + 0.02), (tip[0], tip[1] - 0.035), tip, 10), METAL, 0.006
        )
        c.ellipse(tip[0], tip[1], 0.0075, 0.0075, (52, 56, 62))
    c.ellipse(end[0], end[1], 0.0085, 0.0085, METAL_DARK)
    # Chest piece.
    px, py = chest_side[-1]
    py += 0.03
    c.ellipse(px, py - 0.026, 0.008, 0.012, METAL_DARK)
    c.ellipse(px, py, 0.031, 0.031, METAL_DARK)
    c.ellipse(px, py, 0.025, 0.025, METAL)
    c.ellipse(px, py, 0.014, 0.014, (236, 240, 244))


def _ears(c: _Canvas, look: _Look, h: _Head) -> None:
    shade = _mix(look.skin, (60, 30, 20), 0.08)
    inner = _mix(look.skin, (60, 30, 20), 0.25)
    for sign in (-1, 1):
        x, y = h(sign * 0.97, 0.1)
        c.ellipse(x, y, 0.17 * h.a, 0.2 * h.b, shade)
        c.ellipse(x + sign * 0.05 * h.a, y + 0.01 * h.b, 0.07 * h.a, 0.11 * h.b, inner)


def _hair_front(c: _Canvas, look: _Look, h: _Head) -> None:
    """Fringe and hairline drawn over the head; flipped per seed for a left/right parting."""
    hair, flip = look.hair, look.flip
    if look.style == "short":
        # Volume on top, side parting, fringe swept across the forehead.
        cap = h.arc(0, -0.12, 1.08, 0.98, 186, 354)
        line = h.curve((1.07, -0.3), (0.95, -0.52), (0.7, -0.62), (0.42, -0.78))
        line += h.curve((0.42, -0.78), (0.1, -0.56), (-0.5, -0.56), (-1.07, -0.3))
        c.polygon(_mirror(cap + line, flip), hair)
        dark = _mix(hair, (0, 0, 0), 0.25)
        c.line(
            _mirror(h.curve((0.42, -0.8), (0.4, -0.9), (0.34, -0.98), (0.24, -1.06)), flip),
            dark,
            0.004,
        )
    elif look.style == "long":
        cap = h.arc(0, -0.1, 1.2, 1.08, 172, 368)
        line = h.curve((1.19, 0.05), (0.98, -0.3), (0.7, -0.62), (0.22, -0.8))
        line += h.curve((0.22, -0.8), (-0.3, -0.62), (-0.95, -0.45), (-1.19, 0.05))
        c.polygon(_mirror(cap + line, flip), hair)
    elif look.style == "bun":
        cap = h.arc(0, -0.06, 1.07, 1.0, 186, 354)
        line = h.curve((1.06, -0.25), (0.92, -0.55), (0.4, -0.7), (0, -0.68))
        line += h.curve((0, -0.68), (-0.4, -0.7), (-0.92, -0.55), (-1.06, -0.25))
        c.polygon(cap + line, hair)
        dark = _mix(hair, (0, 0, 0), 0.2)
        c.line(
            _mirror(h.curve((0.2, -0.7), (0.3, -0.85), (0.3, -0.95), (0.22, -1.08)), flip),
            dark,
            0.004,
        )
    elif look.style == "curly":
        cap = h.arc(0, -0.16, 1.12, 0.95, 186, 354)
        bumps = [h((i - 4) * 0.24, -0.58 + 0.022 * (i - 4) ** 2) for i in range(9)]
        c.polygon(cap + list(reversed(bumps)), hair)
        for x, y in bumps:
            c.ellipse(x, y, 0.15 * h.a, 0.15 * h.a, hair)
    elif look.style == "buzz":
        # Close crop that follows the skull, with rounded temples and short sideburns.
        stubble = _mix(hair, look.skin, 0.25)
        cap = h.arc(0, 0, 1.025, 1.025, 180, 360)
        line = h.curve((1.025, 0.0), (0.9, -0.05), (0.88, -0.42), (0.7, -0.56))
        line += h.curve((0.7, -0.56), (0.45, -0.72), (-0.45, -0.72), (-0.7, -0.56))
        line += h.curve((-0.7, -0.56), (-0.88, -0.42), (-0.9, -0.05), (-1.025, 0.0))
        c.polygon(cap + line, stubble)


def _face(c: _Canvas, look: _Look, h: _Head) -> None:
    a = h.a
    skin = look.skin
    dark = _mix(skin, (50, 25, 15), 0.35)
    if look.style == "hijab":
        brow = (50, 36, 30)
    elif look.hair in ((214, 176, 106), (168, 168, 170)):  # light hair: keep brows visible
        brow = _mix(look.hair, (60, 45, 35), 0.5)
    else:
        brow = _mix(look.hair, (20, 15, 12), 0.35)
    cheek = _mix(skin, (235, 110, 100), 0.2)
    for sign in (-1, 1):
        ex, ey = h(sign * 0.36, 0.06)
        cx_, cy_ = h(sign * 0.55, 0.36)
        c.ellipse(cx_, cy_, 0.16 * a, 0.1 * a, cheek)
        c.ellipse(ex, ey, 0.085 * a, 0.1 * a, EYE)
        c.ellipse(ex + 0.03 * a, ey - 0.035 * a, 0.03 * a, 0.03 * a, (255, 255, 255))
        bx, by = h(sign * 0.38, -0.13)
        c.arc(bx, by, 0.19 * a, 0.07 * a, 210, 330, brow, 0.055 * a)
    # Nose and a gentle smile.
    nx, ny = h(0, 0.3)
    c.arc(nx, ny, 0.09 * a, 0.06 * a, 30, 150, dark, 0.042 * a)
    mx, my = h(0, 0.42)
    mouth = _mix(skin, (90, 25, 30), 0.45 + 0.25 * (1 - sum(skin) / 700))
    c.arc(mx, my, 0.26 * a * look.smile, 0.17 * a, 25, 155, mouth, 0.05 * a)
    if look.glasses:
        fw = 0.04 * a
        for sign in (-1, 1):
            ex, ey = h(sign * 0.36, 0.06)
            c.draw.rounded_rectangle(
                c.box(ex - 0.24 * a, ey - 0.17 * a, ex + 0.24 * a, ey + 0.17 * a),
                radius=c.px(0.11 * a),
                outline=look.frame,
                width=round(c.px(fw)),
            )
        bx, by = h(0, 0.05)
        c.arc(bx, by, 0.13 * a, 0.06 * a, 200, 340, look.frame, fw)


def _render(look: _Look, side: int) -> Image.Image:
    img = _background(look, side)
    c = _Canvas(img)
    h = _Head(look.head_w, look.head_h)
    hijab = look.style == "hijab"
    _hair_back(c, look, h)
    _body(c, look)
    if hijab:
        _hijab_back(c, look, h)
    _lapels(c)
    _stethoscope(c, look)
    if look.style in ("short", "bun", "buzz", "curly"):
        _ears(c, look, h)
    skin_dark = _mix(look.skin, (60, 30, 20), 0.22)
    if hijab:
        # Face seen through the scarf's oval opening, with a lighter under-scarf edge.
        under = _mix(look.scarf, (255, 255, 255), 0.22)
        c.ellipse(CX, HEAD_CY + 0.15 * h.b, 0.99 * h.a, 0.9 * h.b, under)
        c.ellipse(CX, HEAD_CY + 0.2 * h.b, 0.95 * h.a, 0.8 * h.b, look.skin)
    else:
        c.ellipse(CX, HEAD_CY + h.b - 0.01, NECK_W, 0.04, skin_dark)  # chin shadow
        c.ellipse(CX, HEAD_CY, h.a, h.b, look.skin)
        _hair_front(c, look, h)
    _face(c, look, h)
    return img


def make_portrait(seed: str, *, size: int = 800, palette_index: int | None = None) -> bytes:
    """PNG bytes of a square portrait illustration, deterministic for a given seed."""
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))  # noqa: S311 - not security related
    look = _Look(rng, palette_index)
    scale = 4 if size <= 400 else 3  # supersample, then downsample for anti-aliasing
    big = _render(look, size * scale)
    small = big.resize((size, size), Image.LANCZOS)
    out = io.BytesIO()
    small.save(out, format="PNG", optimize=False, compress_level=6)
    return out.getvalue()
