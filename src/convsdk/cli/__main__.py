"""``python -m convsdk.cli``: the ``convsdk`` command."""

from . import main

raise SystemExit(main())
