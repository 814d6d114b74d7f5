"""`python -m devstack.demo`: run the demo (options: `--help`)."""

from devstack.demo.run import main

raise SystemExit(main())
