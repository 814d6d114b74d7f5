"""`alertcap` sub-commands, one module per group."""
