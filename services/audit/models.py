"""The audit service's own database."""

from shared.db import bus_tables, service_metadata

metadata = service_metadata()
bus = bus_tables(metadata)
