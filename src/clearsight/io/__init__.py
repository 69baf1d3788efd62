"""Inputs and outputs: images now, video sources and writers beside them."""

from .image import ImageInput, decode_bytes, encode_jpeg, load_image, read_image_bytes, save_image

__all__ = ["ImageInput", "decode_bytes", "encode_jpeg", "load_image", "read_image_bytes", "save_image"]
