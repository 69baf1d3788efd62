"""Licence plates on video, and plates as personal data.

- `analyser`: the `plates` camera analyser: reads plates in vehicle tracks (budgeted, every few
  frames), votes one read per track, stores it and alerts on hot-list plates only.
- `store`: plate reads (purpose, encrypted crops, retention), hot-lists with their legal basis,
  wildcard search; every search, export and hot-list change in the gallery's audit chain.
- `voting`: one read per track from many frames.
- `text`: the stored form of a plate and wildcard patterns (`AB?12*`).

The readers themselves live below, in `clearsight.vision.plates`.
"""
