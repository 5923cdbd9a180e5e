"""The environment the services start from has its dependencies compiled to bytecode.

uv installs no .pyc files and PYTHONDONTWRITEBYTECODE stops Python writing them, so without
./bootstrap's and tox's compile step every service compiles its imports at each start (a cold
`spyh up` took 21 s instead of 7)."""

import importlib.util
import sys
from pathlib import Path

import aiohttp
import ib_async
import pydantic


def test_the_services_heaviest_imports_have_their_bytecode() -> None:
    missing = []
    for package in (pydantic, aiohttp, ib_async):
        for source in Path(str(package.__file__)).parent.glob("*.py"):
            cached = importlib.util.cache_from_source(str(source))
            if not Path(cached).exists():
                missing.append(str(source))
    assert not missing, f"{len(missing)} modules in {sys.prefix} not compiled, e.g. {missing[:3]}"
