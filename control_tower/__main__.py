"""`python -m control_tower` runs the command line."""

from __future__ import annotations

from control_tower.cli import main

main()
