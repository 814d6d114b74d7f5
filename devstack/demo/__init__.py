"""`make demo`: the main job end to end on one machine (`python -m devstack.demo`; see docs/demo.md).

`run` drives the story, `prepare` checks the machine and writes the demo's config, `stackproc` runs the
devstack as a child, `traffic` sends the bursts, `observe` follows the alert, run, capture and email,
`progress` shows it, `sentry` and `coverage` compare an armed VM with its unarmed twin.
"""
