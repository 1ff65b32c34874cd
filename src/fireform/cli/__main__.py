"""``python -m fireform.cli``."""

from fireform.cli import main

main()
