"""What a person sees of the docks: they never touch a port, they fold records into models.

One dock: ``dashboard`` (Textual, with ``sparks`` and ``terminal``) and ``headless`` (a
line per event). Several docks: ``fleetview`` and ``fleetprint``, over ``fleetmodel``.
"""
