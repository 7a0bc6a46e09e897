"""Recordings of what the docks said, and what is made of them afterwards.

``recorder`` writes them (the format is described there), ``replay`` reads them and raw
captures back, ``playback`` walks one for ``replay``'s screen, ``export`` writes CSV and
``plot`` a picture.
"""
