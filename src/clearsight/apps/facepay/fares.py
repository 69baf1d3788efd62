"""The fare of a journey, from the fare table kept as data (`settings.facepay.fares`).

A table, not code: an operator changes fares by changing the table. Every fare is
capped; a station the zone table does not know is charged the cap (the rider can
dispute it), never guessed."""

from __future__ import annotations

from ...settings import FareTable


def journey_fare(table: FareTable, entry_station: str, exit_station: str | None) -> int:
    """Minor units for a journey; `exit_station` None: never tapped out, the capped fare."""
    if exit_station is None:
        return table.capped_fare
    if table.kind == "flat":
        return min(table.flat_fare, table.capped_fare)
    zones = table.station_zones
    if entry_station not in zones or exit_station not in zones:
        return table.capped_fare
    crossed = abs(int(zones[entry_station]) - int(zones[exit_station]))
    return min(table.base_fare + table.per_zone * crossed, table.capped_fare)


__all__ = ["journey_fare"]
