"""Pure product logic of alertcap: no I/O, no clocks, no environment reads at import time."""
