"""``python -m auditor`` runs the ``whp-audit`` command line."""

from auditor.cli import main

main()
