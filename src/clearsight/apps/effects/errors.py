"""Errors a user of the effects can cause: an unknown effect, preset, sticker or
parameter, or a value outside 0..1. All are `InputError`s (CLI exit 2, HTTP 422).
"""

from __future__ import annotations

from ...errors import InputError


class EffectConfigError(InputError):
    code = "effect_config_error"


class UnknownEffectError(EffectConfigError):
    code = "unknown_effect"


class UnknownPresetError(EffectConfigError):
    code = "unknown_preset"


class StickerAssetError(EffectConfigError):
    code = "sticker_asset_error"
