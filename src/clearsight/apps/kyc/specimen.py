"""Specimen identity documents, composed and "photographed", for tests and measurements.

There is no identity-document material anyone may share, and none in `shared/`.
So a specimen is composed the way ICAO Doc 9303 draws its own: a data page of the
fictional state Utopia (UTO), a portrait, printed fields and an MRZ whose check
digits are computed (`compose_td3`/`compose_td1`), with fictional names (the
published specimen "ERIKSSON ANNA MARIA" first). The portrait is a real face from
the caller (tests and benches use LFW photos read from ../shared/data at run time);
nothing composed here is ever written into the repository.

`photograph` then makes the page look like a phone photo of it: the page laid on a
textured table, seen in perspective and turned, under uneven light with a glare
spot, slightly out of focus, with sensor noise and JPEG compression. The
degradations are seeded, so a measurement is repeatable.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ...vision.documents.mrz import compose_td1, compose_td3

# Fictional holders (ICAO's own specimen first). Never real people's names.
SPECIMEN_NAMES: tuple[tuple[str, str], ...] = (
    ("ERIKSSON", "ANNA MARIA"), ("SPECIMEN", "JOHN"), ("MUSTERMANN", "ERIKA"), ("DOE", "JANE"),
    ("PUBLIC", "JOHN Q"), ("BLOGGS", "JOE"), ("NORDMANN", "KARI"), ("SVENSSON", "SVEN"), ("ROSSI", "MARIO"),
    ("DUPONT", "MARIE"), ("JANSEN", "JAN"), ("KOWALSKI", "JAN"), ("HORVAT", "IVAN"), ("NOVAK", "PETRA"),
    ("SILVA", "MARIA"), ("MEIKALAINEN", "MATTI"), ("VIRTANEN", "AINO"), ("MOLLER", "HANS"),
)

_FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/liberation",
              "/usr/share/fonts/truetype/noto", "/usr/share/fonts/TTF", "/Library/Fonts", "C:/Windows/Fonts")
_MONO = ("DejaVuSansMono-Bold.ttf", "DejaVuSansMono.ttf", "LiberationMono-Bold.ttf", "LiberationMono-Regular.ttf",
         "NotoSansMono-Regular.ttf", "cour.ttf")
_SANS = ("DejaVuSans.ttf", "LiberationSans-Regular.ttf", "NotoSans-Regular.ttf", "arial.ttf")


def _font(names: tuple[str, ...], size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    for d in _FONT_DIRS:
        for n in names:
            p = Path(d) / n
            if p.exists():
                return ImageFont.truetype(str(p), size)
    return ImageFont.load_default(size)  # Pillow's own font: proportional, but readable


@dataclass(frozen=True)
class Specimen:
    """A composed document: the page (RGB), where the portrait is, and what it says."""

    page: np.ndarray
    portrait_box: tuple[int, int, int, int]  # x1, y1, x2, y2 on the page
    mrz: tuple[str, ...]
    surname: str
    given_names: str
    document_number: str
    format: str


def _portrait(face_rgb: np.ndarray, w: int, h: int) -> np.ndarray:
    """The face photo cut to a passport portrait's 35:45 frame (centre, head and shoulders)."""
    fh, fw = face_rgb.shape[:2]
    target = w / h
    if fw / fh > target:
        cw, ch = int(fh * target), fh
    else:
        cw, ch = fw, int(fw / target)
    x0, y0 = (fw - cw) // 2, max(0, (fh - ch) // 2 - fh // 20)
    crop = face_rgb[y0:y0 + ch, x0:x0 + cw]
    if crop.ndim == 2:
        crop = np.repeat(crop[..., None], 3, axis=2)
    return cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA)


def _guilloche(w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """A security-print background: pale tint and fine interfering sine lines."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.array(rng.choice([(236, 242, 232), (232, 238, 246), (246, 238, 230)]), np.float32)
    img = np.ones((h, w, 3), np.float32) * base
    for k in range(3):
        f = rng.uniform(0.02, 0.05)
        ph = rng.uniform(0, 6.28)
        lines = np.sin(xx * f + 18 * np.sin(yy * f * 0.35 + ph + k)) > 0.93
        img[lines] -= np.array([28, 18, 22], np.float32) * (0.6 + 0.2 * k)
    return np.clip(img, 0, 255).astype(np.uint8)


def compose(face_rgb: np.ndarray, index: int = 0, *, fmt: str = "TD3", seed: int = 0, ghost: bool = True) -> Specimen:
    """A Utopia data page with `face_rgb` as its portrait and the `index`-th fictional holder.

    TD3: an ID-3 passport page (125 x 88 mm), 2 MRZ lines of 44; TD1: an ID-1 card
    (85.6 x 54 mm), 3 lines of 30. `ghost`: the small faded second portrait many
    documents print (the reader must pick the main one)."""
    rng = np.random.default_rng(seed * 7919 + index)
    surname, given = SPECIMEN_NAMES[index % len(SPECIMEN_NAMES)]
    number = ("L898902C3" if index == 0 else f"{'ABCDEFGHJKLMNPRSTUVWXYZ'[index % 23]}{rng.integers(10**7, 10**8)}")
    birth = f"{rng.integers(50, 99):02d}{rng.integers(1, 13):02d}{rng.integers(1, 29):02d}"
    expiry = f"{rng.integers(30, 36):02d}{rng.integers(1, 13):02d}{rng.integers(1, 29):02d}"
    sex = "F" if rng.random() < 0.5 else "M"
    if fmt == "TD3":
        w, h = 1250, 880
        lines = compose_td3(surname=surname, given_names=given, number=number, nationality="UTO", birth=birth,
                            sex=sex, expiry=expiry, optional=f"ZE{rng.integers(10**6, 10**7)}B" if index % 2 else "")
    elif fmt == "TD1":
        w, h = 1256, 792
        lines = compose_td1(surname=surname, given_names=given, number=number, nationality="UTO", birth=birth,
                            sex=sex, expiry=expiry)
    else:
        raise ValueError(f"unknown document format {fmt!r}; TD3 or TD1")
    page = Image.fromarray(_guilloche(w, h, rng))
    draw = ImageDraw.Draw(page)
    mono = _font(_MONO, 40 if fmt == "TD3" else 50)
    sans, small = _font(_SANS, 30), _font(_SANS, 20)
    draw.text((40, 24), "UTOPIA" if fmt == "TD3" else "UTOPIA  IDENTITY CARD", fill=(40, 40, 90), font=_font(_SANS, 40))
    draw.text((w - 420, 34), "PASSPORT / PASSEPORT" if fmt == "TD3" else "", fill=(40, 40, 90), font=sans)
    pw, ph = (300, 386) if fmt == "TD3" else (280, 360)
    px, py = 50, 110
    port = _portrait(face_rgb, pw, ph)
    page.paste(Image.fromarray(port), (px, py))
    fields = [("Surname / Nom", surname), ("Given names / Prénoms", given), ("Nationality", "UTOPIAN"),
              ("Date of birth", f"{birth[4:]} {birth[2:4]} 19{birth[:2]}"), ("Sex", sex),
              ("Date of expiry", f"{expiry[4:]} {expiry[2:4]} 20{expiry[:2]}"), ("Document no.", number)]
    x, y = px + pw + 40, py
    for label, value in fields:
        draw.text((x, y), label, fill=(90, 90, 110), font=small)
        draw.text((x, y + 22), value, fill=(20, 20, 30), font=sans)
        y += 58 if fmt == "TD3" else 50
    if ghost:
        gw, gh = pw // 3, ph // 3
        g = _portrait(face_rgb, gw, gh).astype(np.float32)
        gx, gy = w - gw - 60, py + 40
        region = np.asarray(page, np.float32)[gy:gy + gh, gx:gx + gw]
        blend = (0.35 * g.mean(axis=2, keepdims=True) + 0.65 * region).astype(np.uint8)
        page.paste(Image.fromarray(blend), (gx, gy))
    # the MRZ, in a clear band at the bottom (OCR-B is not installed anywhere: a monospace font stands in)
    line_h = 56 if fmt == "TD3" else 62
    y0 = h - 30 - line_h * len(lines)
    draw.rectangle((0, y0 - 16, w, h), fill=(248, 248, 246))
    for i, line in enumerate(lines):
        bbox = draw.textbbox((0, 0), line, font=mono)
        scale_x = (w - 80) / max(1, bbox[2] - bbox[0])
        # render at natural width, then stretch to the band (monospace: uniform pitch)
        tile = Image.new("RGB", (bbox[2] + 4, line_h), (248, 248, 246))
        ImageDraw.Draw(tile).text((0, (line_h - (bbox[3] - bbox[1])) // 2 - bbox[1]), line, fill=(15, 15, 15), font=mono)
        tile = tile.resize((int(tile.width * scale_x), line_h), Image.LANCZOS)
        page.paste(tile, (40, y0 + i * line_h))
    return Specimen(np.asarray(page), (px, py, px + pw, py + ph), tuple(lines), surname, given, number, fmt)


def photograph(page: np.ndarray, seed: int = 0, *, tilt: float = 0.08, max_turn: float = 12.0, blur: float = 1.0,
               jpeg_quality: int = 80, out_long_side: int = 1600, upside_down: bool = False) -> np.ndarray:
    """The page as a phone photo: on a table, in perspective, turned, lit unevenly, soft, noisy, JPEG."""
    rng = np.random.default_rng(seed)
    h, w = page.shape[:2]
    W, H = int(w * 1.6), int(h * 1.6)
    # table: a smooth colour field with wood-like streaks
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    tone = np.array(rng.choice([(120, 90, 60), (70, 70, 75), (150, 140, 125), (40, 60, 80)]), np.float32)
    streak = 12 * np.sin(xx * rng.uniform(0.01, 0.03) + 4 * np.sin(yy * 0.01)) + rng.normal(0, 6, (H, W))
    canvas = np.clip(tone + streak[..., None], 0, 255)
    # where the page's corners land: centred, jittered (perspective), turned
    cx, cy = W / 2 + rng.uniform(-0.05, 0.05) * W, H / 2 + rng.uniform(-0.05, 0.05) * H
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    corners = src - np.float32([w / 2, h / 2])
    corners += rng.uniform(-tilt, tilt, (4, 2)).astype(np.float32) * np.float32([w, h])
    a = np.deg2rad(rng.uniform(-max_turn, max_turn) + (180.0 if upside_down else 0.0))
    rot = np.float32([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    dst = corners @ rot.T + np.float32([cx, cy])
    m = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    warped = cv2.warpPerspective(page.astype(np.float32), m, (W, H), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.ones((h, w), np.float32), m, (W, H), flags=cv2.INTER_LINEAR)[..., None]
    img = warped * mask + canvas * (1 - mask)
    # light: a gradient across the frame and a glare spot
    gx, gy = rng.uniform(-1, 1, 2)
    light = 0.8 + 0.25 * ((xx / W - 0.5) * gx + (yy / H - 0.5) * gy)
    sx, sy = rng.uniform(0.25, 0.75) * W, rng.uniform(0.25, 0.75) * H
    glare = 55 * np.exp(-((xx - sx) ** 2 + (yy - sy) ** 2) / (2 * (0.08 * W) ** 2))
    img = img * light[..., None] + glare[..., None]
    img *= np.float32(rng.uniform(0.92, 1.05, 3))  # white balance
    if blur > 0:
        img = cv2.GaussianBlur(img, (0, 0), blur * rng.uniform(0.7, 1.3))
    img += rng.normal(0, 3.0, img.shape)
    img = np.clip(img, 0, 255).astype(np.uint8)
    s = out_long_side / max(W, H)
    img = cv2.resize(img, (round(W * s), round(H * s)), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)])
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def jpeg_bytes(rgb: np.ndarray, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()
