"""Subcommands of the ``clusterecon`` command line, one module each (``add_arguments(parser)``, ``run(args)``).

They are registered in :data:`clusterecon.cli.COMMANDS` and imported only when their command runs.
"""


def import_pipeline():
    """``clusterecon.load.load_survey``, with the ``clusterecon.validate`` submodule bound on the package first.

    The package exports a lazy attribute ``validate`` (the function) that has the same name as the submodule; when the
    first ``from . import validate`` of a fresh process reaches the package's lazy ``__getattr__``, it gets the
    function instead of the module. Importing the submodule by its full name first binds the module.
    """
    import importlib

    importlib.import_module("clusterecon.validate")
    from ..load import load_survey

    return load_survey
