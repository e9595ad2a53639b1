"""pgsuite applications. Each app registers a ``core.cli.App`` under the ``pgsuite.apps`` entry point."""
