"""The lowest layer: errors, paths and the user cache, devices and dtypes, display labels and colours, provenance.

Nothing here imports another rmnb layer.
"""
