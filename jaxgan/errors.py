"""The one exception type for mistakes a user can make (paths, names, config values, checkpoints).

The command line turns a `UserError` into a single line on stderr and exit code 2; library users can catch it.
"""


class UserError(Exception):
    """A problem the user can fix; its message is one line that says what and where."""
