"""`python -m tests.mock_jaxgan ARGS...`: the `jaxgan` command line in a real process, reading tfds' mock CIFAR-10.

For tests about the process itself (progress bar on stderr, resuming, signals) that must not need the real data:
give no --data-dir. Everything but the images is the real command.
"""
import sys

from jaxgan import cli
from tests.conftest import mock_cifar10

if __name__ == "__main__":
    with mock_cifar10():
        sys.exit(cli.main(sys.argv[1:], child_module="tests.mock_jaxgan"))
