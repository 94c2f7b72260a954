"""A function whose import fails: the host loads the others and marks this one errored."""
import a_module_that_is_not_installed  # noqa: F401


def main(value):
    return value
