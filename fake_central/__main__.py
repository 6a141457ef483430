"""``python -m fake_central``: the same as the ``fake-central`` command."""

from fake_central.cli import main

main()
