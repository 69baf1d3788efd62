"""Perception primitives, one module each: detection, landmarks, alignment, embedding, quality."""

import warnings

# protobuf 4.25 warns on every MediaPipe graph start about an API MediaPipe 0.10.14
# still calls; the message says nothing actionable to our users.
warnings.filterwarnings("ignore", message="SymbolDatabase.GetPrototype", category=UserWarning)
