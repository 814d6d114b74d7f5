"""`python -m alertcap_cli`."""

from alertcap_cli.main import main

main()
