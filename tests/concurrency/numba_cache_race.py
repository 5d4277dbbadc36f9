"""Force the interleaving that corrupts numba's on-disk cache, in two processes at once.

usage: python numba_cache_race.py ROLE MODULE SYNC_DIR    (ROLE: a, b or check)

MODULE (importable from SYNC_DIR's parent) defines ``f(x) = x * 2 + 1`` jitted with cache=True.
Role ``a`` compiles it for int64 arrays, role ``b`` for float64 arrays, at the same time, and
hooks in numba's cache files hold each process at the point where the other must act (each wait
gives up after a timeout, so a lock that serializes the two saves only makes them slower):

    a: save: load index {}                ... wait b_loaded
    b: save: load index {}  -> b_loaded   ... wait a_indexed
    a: write index {int: 1} -> a_indexed  ... wait b_indexed
    b: write index {float: 1}, write data 1 (float code) -> b_indexed
    a: write data 1 (int code)

Unlocked, the index left maps float64 to a data file holding int64 code. Role ``check`` (a fresh
process) calls f with both types and prints ``ok`` or what it got.
"""
import importlib
import sys
import time
from pathlib import Path

import numpy as np
from numba.core import caching

ROLE, MODULE, SYNC = sys.argv[1], sys.argv[2], Path(sys.argv[3])
TIMEOUT_S = 1.5


def wait(name):
    end = time.time() + TIMEOUT_S
    while not (SYNC / name).exists() and time.time() < end:
        time.sleep(0.01)


def touch(name):
    (SYNC / name).touch()


def install_hooks():
    files = caching.IndexDataCacheFile
    save, load_index, save_index, save_data = files.save, files._load_index, files._save_index, files._save_data
    saving = []

    def hooked_save(self, key, data):
        saving.append(True)
        try:
            return save(self, key, data)
        finally:
            saving.pop()

    def hooked_load_index(self):
        out = load_index(self)
        if ROLE == "b" and saving:
            touch("b_loaded")
        return out

    def hooked_save_index(self, overloads):
        wait("b_loaded" if ROLE == "a" else "a_indexed")
        save_index(self, overloads)
        touch(f"{ROLE}_indexed")

    def hooked_save_data(self, name, data):
        if ROLE == "a":
            wait("b_indexed")
        save_data(self, name, data)

    files.save, files._load_index, files._save_index, files._save_data = (
        hooked_save, hooked_load_index, hooked_save_index, hooked_save_data)


if ROLE in ("a", "b"):
    install_hooks()
sys.path.insert(0, str(SYNC.parent))
f = importlib.import_module(MODULE).f
if ROLE == "a":
    print(f(np.arange(3, dtype=np.int64)).tolist())
elif ROLE == "b":
    print(f(np.arange(3, dtype=np.float64)).tolist())
else:
    ints, floats = f(np.arange(3, dtype=np.int64)), f(np.arange(3, dtype=np.float64))
    good = (ints.dtype == np.int64 and floats.dtype == np.float64 and ints.tolist() == [1, 3, 5]
            and floats.tolist() == [1.0, 3.0, 5.0])
    print("ok" if good else f"wrong: int64 -> {ints!r}, float64 -> {floats!r}")
