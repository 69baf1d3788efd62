"""Identity documents: the page found in a photo, its text read, its MRZ parsed and checked.

`mrz` is pure (strings in, checked fields out); `page` finds and flattens the
document in a photograph; `text` reads its lines with PP-OCRv4 (the models the plate
reader uses). Finding the portrait needs the face detector, a layer up
(`face.document`).
"""

from .mrz import Mrz, check_digit, compose_td1, compose_td3, find_mrz, parse_td1, parse_td3

__all__ = ["Mrz", "check_digit", "compose_td1", "compose_td3", "find_mrz", "parse_td1", "parse_td3"]
