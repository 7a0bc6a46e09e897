"""Reader subscribers that publish the docks' state elsewhere (they never touch a port).

``mqtt`` publishes topics to a broker, ``homeassistant`` Home Assistant's discovery configs
for those topics, ``prometheus`` serves metrics. Each keeps its own ``model.DockModel`` per
dock and takes its per-pin list from ``pinfields``.
"""
