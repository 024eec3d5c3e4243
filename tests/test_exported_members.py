"""The public API is what ``convsdk.__all__`` says, and it imports with the core deps alone."""

from __future__ import annotations

import subprocess
import sys
import types

import convsdk


def test_all_is_sorted_and_complete() -> None:
    # ("@..." names are pytest's assertion rewriting: convsdk is a pytest plugin too.)
    public = {
        n
        for n in dir(convsdk)
        if not n.startswith(("_", "@"))
        # submodules are importable, not re-exported names
        and not isinstance(getattr(convsdk, n), types.ModuleType)
    }
    assert sorted(convsdk.__all__, key=str.lower) == sorted(set(convsdk.__all__), key=str.lower)
    assert public <= set(convsdk.__all__), public - set(convsdk.__all__)
    for name in convsdk.__all__:
        assert getattr(convsdk, name) is not None


def test_cancel_conversion_is_public() -> None:
    from convsdk.decorators import cancel_conversion

    assert "cancel_conversion" in convsdk.__all__
    assert convsdk.cancel_conversion is cancel_conversion


def test_every_public_name_has_a_docstring() -> None:
    for name in convsdk.__all__:
        obj = getattr(convsdk, name)
        if callable(obj):
            assert obj.__doc__, f"convsdk.{name} has no docstring"


def test_import_needs_only_the_core_dependencies() -> None:
    code = (
        "import sys, convsdk\n"
        "heavy = {'flask', 'starlette', 'fastapi', 'psycopg', 'redis', 'nats', 'httpx', 'rich'}\n"
        "loaded = heavy & {m.split('.')[0] for m in sys.modules}\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_exports_are_the_lazy_ones() -> None:
    """``__all__`` and the names imported on first use are the same list."""
    assert set(convsdk.__all__) == {*convsdk._EXPORTS, "__version__"}
    assert set(convsdk.__all__) <= set(dir(convsdk))


def test_names_are_imported_when_first_used() -> None:
    """``import convsdk`` loads no tracker, decorator or schema (what ``convsdk report``
    and pytest's plugin do not need); a name imports its module on first use, as does a
    submodule not exported by name, and an unknown name is an AttributeError."""
    code = (
        "import sys, convsdk\n"
        "mine = lambda: sorted(m for m in sys.modules if m.startswith('convsdk'))\n"
        "assert mine() == ['convsdk', 'convsdk._lazy'], mine()\n"
        "assert 'marshmallow' not in sys.modules\n"
        "assert convsdk.track is sys.modules['convsdk.tracker'].track\n"
        "assert 'track' in vars(convsdk)  # kept: the next lookup is a plain read\n"
        "assert callable(convsdk.backends.register)\n"
        "from convsdk import *\n"
        "assert Goal is convsdk.goals.Goal and callable(track_macro)\n"
        "try:\n"
        "    convsdk.no_such_name\n"
        "except AttributeError as exc:\n"
        "    assert 'no_such_name' in str(exc)\n"
        "else:\n"
        "    raise AssertionError('no AttributeError')\n"
        "assert not hasattr(convsdk, '_no_such_module')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
