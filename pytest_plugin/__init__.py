"""pytest plugin for durable-testkit (installed as ``durable_testkit.pytest_plugin``)."""
