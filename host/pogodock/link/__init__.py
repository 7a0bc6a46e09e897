"""The link to the docks: the only code that opens a serial port.

``reader`` owns one port and turns its bytes into records for its subscribers, ``ports``
finds docks and explains a port that cannot be opened, ``fleet`` runs a reader per port
and says which dock each record came from, ``dockcmd`` sends a dock one command through a
reader and waits for its answer.
"""
