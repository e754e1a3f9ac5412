"""The catalogue of every event the services exchange, one payload schema per type and version.

Services register their events here, in one module, so that producers and consumers check one contract.
A change to an event's shape is a new version registered beside the old one; consumers keep accepting the
versions they know.
"""

from __future__ import annotations

from shared.events import Catalogue

CATALOGUE = Catalogue()
