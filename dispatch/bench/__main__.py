"""Entry point: `python -m dispatch.bench`."""

from dispatch.bench.cli import main

raise SystemExit(main())
