"""python -m ahasd: the command line (see ahasd.cli)."""
from .cli import main

raise SystemExit(main())
