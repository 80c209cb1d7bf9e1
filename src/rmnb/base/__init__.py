"""The lowest layer: errors, paths and the user cache, devices and dtypes, display labels and colours, provenance.
Nothing here imports another rmnb layer.

- ``device``       device and dtype resolution (``"auto"``: CUDA, then MPS, then CPU), the CPU's name, native bfloat16
- ``errors``       ``RmnbError``: every message names the problem and the fix
- ``labels``       display names and colours of models, families and word categories, in one place
- ``paths``        where things live: the book's root, the user cache, the project's ``data/``
- ``progress``     progress bars only where someone watches; durations in words
- ``provenance``   package versions, the git commit, file-system-safe names for model ids
- ``quiet``        quieter third-party libraries while rmnb loads or saves a model
- ``tempfiles``    the temporary folders of interrupted writers, and whether their process still runs
"""
