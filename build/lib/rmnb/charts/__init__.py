"""Charts (altair), named like :mod:`rmnb.analysis`; :mod:`~rmnb.charts.style` holds the settings made once and
the colour scales.
"""
