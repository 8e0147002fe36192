"""Name -> implementation tables for models and losses, and where each registered name came from.

    models.register("mygan", MyGenerator, MyDiscriminator)      # jaxgan.models.register: a Registry underneath
    losses.register("mine", my_d_loss, my_g_loss)               # jaxgan.losses.register

Built-in models and losses register themselves through the same call when their module is imported. Each entry
remembers the experiment file that was being loaded when it was registered (`origin`), so a run folder can record
which file to import again to resume, sample or evaluate it; built-in entries have no origin.
"""
from __future__ import annotations

import contextlib
import dataclasses
import pathlib
import sys
from typing import Any, Generic, Iterator, TypeVar

from jaxgan.errors import UserError

T = TypeVar("T")
_PACKAGE = pathlib.Path(__file__).resolve().parent
_loading: list[pathlib.Path] = []  # experiment files being imported, innermost last


@contextlib.contextmanager
def loading_from(path: pathlib.Path) -> Iterator[None]:
    """Marks registrations made inside the block as coming from the experiment file `path`.

    Args:
      path: the experiment file being imported.

    Returns:
      A context manager; entries registered while it is active get `origin=path`.
    """
    _loading.append(pathlib.Path(path).resolve())
    try:
        yield
    finally:
        _loading.pop()


@dataclasses.dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered name: its value and the file to import again to register it (None: built in)."""

    value: T
    origin: pathlib.Path | None


class Registry(Generic[T]):
    """A table of named implementations of one kind ("model", "loss")."""

    def __init__(self, kind: str):
        """Args:
          kind: what the entries are, for messages ("model", "loss").
        """
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}

    def register(self, name: str, value: T, caller_file: str | None = None) -> None:
        """Adds `name`; registering the same value again is a no-op, another value under a taken name an error.

        Args:
          name: the name configs use (`model=...`, `loss=...`): letters, digits, `_` and `-`.
          value: the implementation.
          caller_file: `__file__` of the module registering it; a file outside the jaxgan package that is not an
            experiment being loaded becomes the origin.

        Raises:
          UserError: the name is not a plain identifier, or is taken by a different implementation.
        """
        if not name or not all(ch.isalnum() or ch in "_-" for ch in name):
            raise UserError(f"{self.kind} name {name!r}: use letters, digits, '_' and '-'")
        old = self._entries.get(name)
        if old is not None:
            if old.value == value:
                return
            where = f" (by {old.origin})" if old.origin else " (built in)"
            raise UserError(f"{self.kind} '{name}' is already registered{where}; choose another name")
        self._entries[name] = Entry(value, _origin(caller_file))

    def get(self, name: str) -> T:
        """The implementation registered as `name`.

        Args:
          name: a registered name.

        Returns:
          The registered value.

        Raises:
          UserError: naming the registered ones, when `name` is not among them.
        """
        if name not in self._entries:
            raise UserError(f"unknown {self.kind} '{name}' (registered: {', '.join(self.names())})")
        return self._entries[name].value

    def origin(self, name: str) -> pathlib.Path | None:
        """The experiment file that registered `name`, or None for a built-in (or an unknown) name.

        Args:
          name: a name.

        Returns:
          An absolute path, or None.
        """
        entry = self._entries.get(name)
        return None if entry is None else entry.origin

    def names(self) -> list[str]:
        """Registered names, in registration order (built-ins first).

        Returns:
          A list of names.
        """
        return list(self._entries)

    def __contains__(self, name: Any) -> bool:
        return name in self._entries


def _origin(caller_file: str | None) -> pathlib.Path | None:
    if _loading:
        return _loading[-1]
    if caller_file is None:
        return None
    path = pathlib.Path(caller_file).resolve()
    return None if _PACKAGE in path.parents else path


def caller_file(depth: int = 2) -> str | None:
    """`__file__` of the module `depth` frames up (the one calling a `register` function)."""
    return sys._getframe(depth).f_globals.get("__file__")
