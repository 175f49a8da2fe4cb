"""The connector runtime: the long-running program around the SDK, written once.

A connector defines its hooks; the runtime connects (and keeps trying while the platform is down),
reads the settings file, polls on a fixed-rate schedule, marks values whose source link is lost
(``q=102``), pauses while the data source is switched off, follows the tags the platform adds or
removes, resumes after a restart from the spool's watermarks through ``backfill``, stops cleanly on
SIGINT or SIGTERM, and serves ``/metrics`` and ``/healthz``:

```python
from data_interaction_client.connector import Connector, Reading, Source

class Boiler(Connector):
    poll_interval = 1.0

    def open(self, source: Source) -> None:
        self.registers = {tag.id: tag.attributes.source["register"] for tag in source.tags}

    def poll(self, tags):
        for tag in tags:
            yield tag, read_register(self.registers[tag.id])

Boiler.run(url="http://platform:8000", source="1", spool="/var/lib/boiler/spool")
```

or ``data-interaction-client run boiler:Boiler --source 1 --spool /var/lib/boiler/spool``. The
``connector`` extra brings the settings file's YAML, pydantic and prometheus_client.
"""

from ._connector import Connector
from ._errors import OpenError, SourceLinkLost
from ._model import LINK_LOST, Reading, Source
from ._settings import RunOptions, SettingsError

__all__ = [
    "LINK_LOST",
    "Connector",
    "OpenError",
    "Reading",
    "RunOptions",
    "SettingsError",
    "Source",
    "SourceLinkLost",
]

# Public classes report the package as their home, as the top-level package's do.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) and _obj.__module__.startswith(f"{__name__}._"):
        _obj.__module__ = __name__
del _name, _obj
