"""Choosing effects: presets, overrides, typed errors for bad choices, the sticker
manifest (built-in and user-supplied) and animation timing. No models run here."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from clearsight.apps.effects import stickers as st
from clearsight.apps.effects.background import Background
from clearsight.apps.effects.beauty import Beauty
from clearsight.apps.effects.body import Body
from clearsight.apps.effects.errors import EffectConfigError, StickerAssetError, UnknownEffectError, UnknownPresetError
from clearsight.apps.effects.pipeline import PRESETS, Effects, build, parse_sets
from clearsight.errors import InputError

pytestmark = pytest.mark.unit


def test_effects_are_off_by_default_and_return_an_untouched_copy():
    frame = np.random.default_rng(1).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    fx = build()
    assert fx.active == []
    out = fx.apply(frame)
    assert out is not frame and np.array_equal(out, frame)
    assert Effects([Beauty({"eye_enlarge": 0.0})]).active == []


def test_parse_sets_and_presets():
    assert parse_sets(["eye_enlarge=0.4", "stickers=sunglasses,bunny_ears", "nose-narrow=1"]) == {
        "eye_enlarge": 0.4, "stickers": "sunglasses,bunny_ears", "nose_narrow": 1.0}
    with pytest.raises(EffectConfigError):
        parse_sets(["eye_enlarge"])
    for name in PRESETS:
        build(name)  # every preset is valid
    fx = build("glam", {"eye_enlarge": 0.1})
    beauty = next(e for e in fx.effects if e.name == "beauty")
    assert beauty.params["eye_enlarge"] == 0.1 and beauty.params["face_slim"] == PRESETS["glam"]["face_slim"]
    # fixed order: body -> background -> beauty -> stickers, whatever the user wrote
    fx = build("none", {"stickers": "sunglasses", "smooth_skin": 0.3, "background": "blur", "waist": -0.2})
    assert [e.name for e in fx.effects] == ["body", "background", "beauty", "stickers"]


@pytest.mark.parametrize(
    "preset,params,err",
    [
        ("nope", {}, UnknownPresetError),
        ("none", {"eye_enlarge": 1.5}, EffectConfigError),
        ("none", {"eye_enlarge": "big"}, EffectConfigError),
        ("none", {"beauty_score": 1}, UnknownEffectError),
        ("none", {"stickers": "unicorn"}, UnknownEffectError),
        ("none", {"waist": -2}, EffectConfigError),
        ("none", {"background": "sparkles"}, EffectConfigError),
        ("none", {"background": "image"}, EffectConfigError),
        ("none", {"background": "color", "background_color": "#12"}, EffectConfigError),
    ],
)
def test_bad_choices_are_typed_input_errors(preset, params, err):
    with pytest.raises(err) as exc:
        build(preset, params)
    assert isinstance(exc.value, InputError) and exc.value.http_status == 422


def test_apply_refuses_non_rgb_frames():
    fx = Effects([Beauty({"smooth_skin": 0.5})])
    with pytest.raises(EffectConfigError):
        fx.apply(np.zeros((10, 10), np.uint8))
    with pytest.raises(EffectConfigError):
        fx.apply(np.zeros((10, 10, 3), np.float32))


def test_builtin_manifest_loads_every_sticker():
    specs = st.load_manifest(st.BUILTIN_MANIFEST)
    assert {"bunny_ears", "sunglasses", "top_hat", "face_mask"} <= set(specs)
    for spec in specs.values():
        for art in spec.frames:
            assert art.ndim == 3 and art.shape[2] == 4 and art[..., 3].max() == 255 and art[..., 3].min() == 0
    glasses = specs["sunglasses"]
    assert len(glasses.frames) == 8
    # the glint moves: frames differ, and the animation loops with a pause
    seen = {glasses.frame_at(t).tobytes() for t in np.arange(0, 2.0, 0.05)}
    assert len(seen) >= 4
    assert np.array_equal(glasses.frame_at(0.0), glasses.frame_at(len(glasses.frames) / glasses.fps + 0.1))


def test_builtin_assets_are_reproducible(tmp_path):
    from clearsight.apps.effects import draw_assets

    for p in draw_assets.draw_all(tmp_path):
        shipped = cv2.imread(str(draw_assets.ASSETS / p.name), cv2.IMREAD_UNCHANGED)
        fresh = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(shipped, fresh), p.name


def _user_manifest(tmp_path, entry: dict) -> str:
    art = np.zeros((40, 40, 4), np.uint8)
    cv2.circle(art, (20, 20), 15, (0, 0, 255, 255), -1)
    cv2.imwrite(str(tmp_path / "dot.png"), art)
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"stickers": {"dot": {"file": "dot.png", **entry}}}))
    st.load_manifest.cache_clear()
    return str(path)


def test_user_manifest_adds_a_sticker(tmp_path):
    path = _user_manifest(tmp_path, {"anchor": "nose_tip", "size_mm": [10, 10]})
    assert st.available(path) == ["dot"]
    spec = st.load_manifest(path)["dot"]
    assert spec.frames[0][20, 20, 0] == 255  # red in RGBA order
    assert np.allclose(spec.corners_mm()[:, :2].mean(axis=0), 0.0)  # centred on the anchor by default


@pytest.mark.parametrize(
    "entry",
    [{"anchor": "elbow", "size_mm": [10, 10]}, {"anchor": "eyes", "size_mm": [10]}, {"anchor": "eyes", "size_mm": [10, 10], "layer": "under"},
     {"anchor": "eyes", "size_mm": [0, 10]}, {"anchor": "eyes", "size_mm": [10, 10], "file": "missing.png"}],
)
def test_bad_user_manifests_are_refused(tmp_path, entry):
    path = _user_manifest(tmp_path, entry)
    with pytest.raises(StickerAssetError):
        st.load_manifest(path)


def test_manifest_not_json(tmp_path):
    p = tmp_path / "m.json"
    p.write_text("{nope")
    with pytest.raises(StickerAssetError):
        st.load_manifest(str(p))


def test_controls_validate_their_ranges():
    with pytest.raises(EffectConfigError):
        Beauty({"smooth_skin": -0.1})
    with pytest.raises(EffectConfigError):
        Body({"neck": 0.3})
    with pytest.raises(EffectConfigError):
        Background(mode="blur", strength=2)
    assert Body({"waist": -1.0}).active and not Body({"waist": 0.0}).active
