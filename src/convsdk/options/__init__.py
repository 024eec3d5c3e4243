"""Every convsdk option, defined once: its name, type, default and one line of doc.

:class:`~convsdk.Tracker`, :func:`convsdk.init`, the WSGI/ASGI middleware and the Flask
extension all read their options through this package, so an option is spelt, parsed
and checked the same way wherever it comes from. Each one may be given, in order of
precedence:

1. as a keyword argument (``Tracker(batch_size=50)``);
2. in an app's configuration (Flask ``app.config``, any mapping) as ``CONVSDK_<NAME>``;
3. as a ``CONVSDK_<NAME>`` environment variable (``CONVSDK_BATCH_SIZE=50``);
4. or it takes its default.

Text values (environment, config files) are parsed by the option's type: booleans as
``1/true/yes/on`` or ``0/false/no/off``, lists as comma-separated text, durations as
seconds (``"1.5"``, ``"500ms"``, ``"2m"``), sizes as bytes (``"512MiB"``, ``"10MB"``).
``enabled`` also reads ``CONVSDK_DISABLED`` (``CONVSDK_DISABLED=1`` turns tracking off).

>>> resolve(["tracker"], {}, environ={"CONVSDK_BATCH_SIZE": "50"})   # the tracker's options
{'batch_size': 50}

The parts: :mod:`~convsdk.options.types` (value types and their parsers),
:mod:`~convsdk.options.special_types` (the types of single options),
:mod:`~convsdk.options.definitions` (the option table) and
:mod:`~convsdk.options.resolution` (keywords, config and environment, "did you mean").
"""

from .definitions import BEACON as BEACON
from .definitions import ENVIRONMENT_PREFIX as ENVIRONMENT_PREFIX
from .definitions import MIDDLEWARE as MIDDLEWARE
from .definitions import OPTIONS as OPTIONS
from .definitions import TRACKER as TRACKER
from .definitions import Option as Option
from .definitions import defaults as defaults
from .definitions import names as names
from .definitions import table as table
from .resolution import check as check
from .resolution import did_you_mean as did_you_mean
from .resolution import from_mapping as from_mapping
from .resolution import resolve as resolve
from .resolution import unknown_option as unknown_option
from .special_types import BACKEND as BACKEND
from .special_types import CALLABLE as CALLABLE
from .special_types import CURRENCY as CURRENCY
from .special_types import FSYNC as FSYNC
from .special_types import GOALS as GOALS
from .special_types import RATE_LIMIT as RATE_LIMIT
from .special_types import SECRET as SECRET
from .types import BOOL as BOOL
from .types import INTS as INTS
from .types import OPTIONAL_BOOL as OPTIONAL_BOOL
from .types import OPTIONAL_PATH as OPTIONAL_PATH
from .types import OPTIONAL_TEXT as OPTIONAL_TEXT
from .types import STRINGS as STRINGS
from .types import TEXT as TEXT
from .types import Type as Type
from .types import byte_size as byte_size
from .types import choice as choice
from .types import integer as integer
from .types import positive_number as positive_number
from .types import seconds as seconds

__all__ = [
    "BEACON",
    "ENVIRONMENT_PREFIX",
    "MIDDLEWARE",
    "OPTIONS",
    "TRACKER",
    "Option",
    "check",
    "defaults",
    "did_you_mean",
    "from_mapping",
    "names",
    "resolve",
    "table",
    "unknown_option",
]
