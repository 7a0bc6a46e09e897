# pogodock firmware entry point: runs at boot. Ctrl-C returns to the REPL with charging off.
from dockfw import rp2040

rp2040.main()
