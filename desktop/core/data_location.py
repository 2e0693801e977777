"""A data folder chosen in Settings, remembered outside any data folder (in the user's config folder)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from desktop.core.user_config import read_config, write_config

LOCATION_FILE = "location.json"


class DataLocation(BaseModel):
    data_dir: str = Field(min_length=1)


def chosen_data_dir() -> Path | None:
    chosen = read_config(LOCATION_FILE, DataLocation)
    return Path(chosen.data_dir) if chosen is not None else None


def remember_data_dir(folder: Path) -> None:
    write_config(LOCATION_FILE, DataLocation(data_dir=str(folder)))
