"""Subcommands of the ``clusterecon`` command line, one module each (``add_arguments(parser)``, ``run(args)``).

They are registered in :data:`clusterecon.cli.COMMANDS` and imported only when their command runs.
"""

