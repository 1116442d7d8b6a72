"""`sfsync demo`, a package of its own: the whole system narrated on its embedded defaults.

    command.py   the click command, the demo's settings and its data folder
    steps.py     steps 1-4 and the narration every step shares
    flows.py     steps 5-8: usage, a new sub-organisation, a dead letter and its replay
    org.py       the sandbox org's records and the usage the demo sends
    runtime.py   child processes, deadline waits, signals, `DemoFailed`

Imports point one way, `command → flows → steps → org`, each of them to `runtime`, which
imports nothing of the demo: no module of the package needs another in a circle.
"""

from sfsync.commands.demo.command import demo

__all__ = ["demo"]
