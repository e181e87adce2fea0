"""Reading a third party's file into records: GeoJSON features or CSV rows, nothing converted yet."""

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _


class ImportFileError(Exception):
    """The file or the options cannot be used at all (nothing is read or written)."""


@dataclass
class Record:
    """One row of the file: ``number`` is what a person sees (CSV row with header = 1, feature from 1)."""

    number: int
    fields: dict[str, Any]
    geometry: dict | None = None


@dataclass
class Source:
    format: str  # "geojson" or "csv"
    records: list[Record]
    columns: list[str]
    name: str = ""

    @property
    def row_word(self) -> str:
        return _("feature") if self.format == "geojson" else _("row")


def read_source(path: Path | str) -> Source:
    """Read a GeoJSON or CSV file into records; raises ``ImportFileError`` if it cannot be read."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportFileError(
            _("Cannot read %(file)s: %(error)s") % {"file": path, "error": exc.strerror}
        ) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError(
            _(
                "%(file)s is not UTF-8 text: save it as UTF-8 (“CSV UTF-8” in spreadsheets) and try again."
            )
            % {"file": path.name}
        ) from None
    suffix = path.suffix.lower()
    if suffix in {".geojson", ".json"} or (
        suffix not in {".csv", ".tsv", ".txt"} and text.lstrip()[:1] == "{"
    ):
        source = read_geojson(text)
    else:
        source = read_csv(text)
    source.name = path.name
    return source


def read_geojson(text: str) -> Source:
    """Records from a FeatureCollection (or a single Feature): properties are fields."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFileError(
            _("The file is not valid JSON (line %(line)d, column %(column)d): %(error)s")
            % {"line": exc.lineno, "column": exc.colno, "error": exc.msg}
        ) from None
    if isinstance(data, dict) and data.get("type") == "Feature":
        features = [data]
    elif isinstance(data, dict) and data.get("type") == "FeatureCollection":
        features = data.get("features") or []
    else:
        raise ImportFileError(_("A GeoJSON FeatureCollection (or a single Feature) is required."))
    records, columns = [], {}
    for number, feature in enumerate(features, start=1):
        feature = feature if isinstance(feature, dict) else {}
        props = dict(feature.get("properties") or {})
        # The feature's own id is a field too (third-party exports often keep the key there).
        if "id" in feature and "id" not in props:
            props["id"] = feature["id"]
        columns.update(dict.fromkeys(props))
        geometry = feature.get("geometry")
        records.append(Record(number=number, fields=props, geometry=geometry if geometry else None))
    return Source(format="geojson", records=records, columns=list(columns))


def sniff_delimiter(header: str) -> str:
    """The separator the header line uses most (``;`` for Italian spreadsheets, else ``,`` or tab)."""
    counts = {sep: header.count(sep) for sep in (";", ",", "\t")}
    best = max(counts, key=lambda sep: (counts[sep], sep == ","))
    return best if counts[best] else ","


def read_csv(text: str) -> Source:
    """Records from CSV text with a header row; empty rows are skipped but keep their row number."""
    lines = text.splitlines()
    header_line = next((line for line in lines if line.strip()), "")
    if not header_line:
        raise ImportFileError(_("The file is empty."))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(header_line))
    rows = iter(reader)
    header: list[str] = []
    for header in rows:
        if any(cell.strip() for cell in header):
            break
    header = [name.strip() for name in header]
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise ImportFileError(
            _("The header repeats these columns: %(columns)s. Rename them so each appears once.")
            % {"columns": ", ".join(duplicated)}
        )
    records = []
    for number, cells in enumerate(rows, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        records.append(Record(number=number, fields=dict(zip(header, cells, strict=False))))
    return Source(format="csv", records=records, columns=header)
