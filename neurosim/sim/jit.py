"""``njit`` with an on-disk cache that several processes can share safely.

numba's ``cache=True`` keeps, per function, an index file (signature -> data file number) and
one data file per compiled signature. Each file is replaced atomically, but a save is three
steps (read the index, pick the first free number, write the index, then the data), with no
lock around them. Two processes that compile *different* signatures of one function at the same
time can both pick number 1: the index left on disk maps one signature to the data file the
other process wrote last, and a later process then loads machine code compiled for other
argument types (wrong results, or errors such as "tuple index out of range"). Processes
sharing one installation or checkout do exactly this (a sweep's workers, parallel tests,
several users of one install).

Here each cache file's save holds an exclusive ``flock`` on ``<index>.lock`` beside the index,
and each load a shared one, so a load always sees an index and data files that belong together.
Without ``fcntl`` (Windows) or where the lock file cannot be made (a read-only cache folder),
the cache runs unlocked, as numba's does.

numba also stamps a function's cache with its own source file only, while compiled code
inlines the kernels it calls from other files (batch_kernels.py calls kernels.py): after an
edit to kernels.py, batch_kernels' cached machine code would keep running the old kernels.
The stamp here covers every source file of this folder.
"""
from __future__ import annotations

import os

import numba
from numba.core.caching import FunctionCache, IndexDataCacheFile

from ..fsutil import file_lock


class LockedIndexDataCacheFile(IndexDataCacheFile):
    """numba's index + data files, each save and load under the index's lock."""

    def _lock_path(self) -> str:
        return self._index_path + ".lock"

    def save(self, key, data):
        os.makedirs(self._cache_path, exist_ok=True)
        with file_lock(self._lock_path(), exclusive=True):
            super().save(key, data)

    def load(self, key):
        if not os.path.exists(self._index_path):
            return None  # nothing cached yet: no lock file to make
        with file_lock(self._lock_path(), exclusive=False):
            return super().load(key)


def folder_stamp(path: str) -> tuple:
    """(name, mtime, size) of every ``.py`` file beside ``path``, sorted by name: the cache stamp."""
    folder = os.path.dirname(os.path.abspath(path))
    stamps = []
    for name in sorted(os.listdir(folder)):
        if name.endswith(".py"):
            st = os.stat(os.path.join(folder, name))
            stamps.append((name, st.st_mtime, st.st_size))
    return tuple(stamps)


class LockedFunctionCache(FunctionCache):
    """numba's per-function cache with :class:`LockedIndexDataCacheFile` as its files, stamped
    with :func:`folder_stamp` of the function's source."""

    def __init__(self, py_func):
        super().__init__(py_func)
        plain = self._cache_file
        self._cache_file = LockedIndexDataCacheFile(cache_path=plain._cache_path,
                                                    filename_base=plain._index_name[: -len(".nbi")],
                                                    source_stamp=folder_stamp(py_func.__code__.co_filename))


def njit(*args, cache: bool = False, **options):
    """``numba.njit``; with ``cache=True`` the process-safe cache above instead of numba's own.

    Used as ``@njit(cache=True)`` or ``@njit(cache=True, error_model="numpy")``."""
    def decorate(func):
        dispatcher = numba.njit(**options)(func)
        if cache:
            dispatcher._cache = LockedFunctionCache(dispatcher.py_func)
        return dispatcher

    if args and callable(args[0]) and len(args) == 1 and not options:
        return decorate(args[0])
    return decorate
