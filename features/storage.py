"""Data folders named by a URI (s3://, gs://, abfs://, hdfs://, file://) as well as paths.

A data team on Spark keeps its tables in a lake and will not copy them to the driver.
The loader needs only a few operations on a folder and its files (list, size and time,
read a Parquet footer, read a CSV's bytes); `UriPath` gives them for a URI through
pyarrow's file systems, with the names pathlib uses, so the loader has one code path.
Spark reads the same URI itself. The embedded engine reads such files through pyarrow
too (DuckDB is given only local files).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pyarrow.fs as pafs
import pyarrow.parquet as pq


class UriPath:
    """A file or folder at a URI, with the pathlib operations the loader uses."""

    def __init__(self, uri: str, _resolved: tuple[pafs.FileSystem, str] | None = None,
                 _listed: pafs.FileInfo | None = None) -> None:
        self.uri = uri.rstrip("/")
        self._fs, self._path = _resolved or pafs.FileSystem.from_uri(self.uri)
        self._listed = _listed
        """What the folder's listing said of it (one request per folder, not per file)."""

    def __str__(self) -> str:
        return self.uri

    def __repr__(self) -> str:
        return f"UriPath({self.uri!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UriPath) and other.uri == self.uri

    def __hash__(self) -> int:
        return hash(self.uri)

    def __lt__(self, other: UriPath) -> bool:
        return self.uri < other.uri

    def __truediv__(self, name: str) -> UriPath:
        return UriPath(f"{self.uri}/{name}", (self._fs, f"{self._path}/{name}"))

    @property
    def name(self) -> str:
        return self.uri.rsplit("/", 1)[-1]

    def _info(self) -> pafs.FileInfo:
        return self._listed or self._fs.get_file_info(self._path)

    def exists(self) -> bool:
        return self._info().type != pafs.FileType.NotFound

    def is_dir(self) -> bool:
        return self._info().type == pafs.FileType.Directory

    def is_file(self) -> bool:
        return self._info().type == pafs.FileType.File

    def iterdir(self) -> list[UriPath]:
        infos = self._fs.get_file_info(pafs.FileSelector(self._path))
        return [UriPath(f"{self.uri}/{info.base_name}", (self._fs, info.path), info)
                for info in infos]

    def stat(self) -> SimpleNamespace:
        """Size and modification time (0 where the store keeps none)."""
        info = self._info()
        if info.type == pafs.FileType.NotFound:
            raise FileNotFoundError(2, "no such file", self.uri)
        return SimpleNamespace(st_size=info.size or 0, st_mtime_ns=info.mtime_ns or 0)

    def read_bytes(self) -> bytes:
        with self._fs.open_input_stream(self._path) as handle:
            return handle.read()

    def open(self, mode: str = "rb"):
        if mode != "rb":
            raise ValueError("a data folder is only ever read")
        return self._fs.open_input_stream(self._path)

    def resolve(self) -> UriPath:
        return self


Location = Path | UriPath


def is_uri(value: object) -> bool:
    text = str(value)
    scheme = text.split("://", 1)[0]
    return "://" in text and scheme.isalnum() and len(scheme) > 1  # not C:\...


def as_location(value: str | Path | UriPath) -> Location:
    """A local path as a Path, anything else with a scheme as a UriPath."""
    if isinstance(value, UriPath | Path):
        return value
    return UriPath(str(value)) if is_uri(value) else Path(value)


def parquet_file(location: Location, **options) -> pq.ParquetFile:
    """The Parquet file's reader (footer first: the rows are read when asked for)."""
    return pq.ParquetFile(str(location) if isinstance(location, UriPath) else location,
                          **options)


def is_local(location: object) -> bool:
    return not isinstance(location, UriPath)
