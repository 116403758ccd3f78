"""Talking to a Milvus engine (a server, or a Milvus Lite file): connecting, naming a
generation's collections, reading them in batches, and turning the engine's failures
into StoreErrors that say what to do. The store (`index.milvus_store`) and the builder
(`index.milvus_build`) both go through these."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterable

from index.backend_types import StoreLocation
from index.errors import StoreCorruptError, StoreError, StoreLockedError, StoreMissingError
from index.generation import Manifest

QUERY_BATCH = 1_000
_GEN = re.compile(r"^(?P<name>.+)_g(?P<n>\d{6})_(?P<kind>chunks|articles|meta)$")


class StoreUnavailableError(StoreError):
    """The Milvus engine cannot be reached or opened."""

    title = "Index unavailable"
    remedy = None


def collection_names(prefix: str, generation: int) -> dict[str, str]:
    return {kind: f"{prefix}_g{generation:06d}_{kind}" for kind in ("chunks", "articles", "meta")}


def connect(location: StoreLocation, create: bool = False):
    """A client of the location's engine (a Lite file is made only when `create`); token or user/password from the environment
    (MILVUS_TOKEN, or MILVUS_USER and MILVUS_PASSWORD) for a server."""
    import logging
    import os

    from pymilvus import MilvusClient
    from pymilvus.exceptions import MilvusException

    # pymilvus logs every failed call with a traceback; the failures become StoreErrors.
    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
    logging.getLogger("milvus_lite").setLevel(logging.CRITICAL)
    uri = location.uri()
    if "://" not in uri and not create and not Path(uri).exists():
        raise StoreMissingError(f"no index at {location.root} yet")
    kwargs: dict[str, Any] = {"timeout": 10}
    if os.environ.get("MILVUS_TOKEN"):
        kwargs["token"] = os.environ["MILVUS_TOKEN"]
    elif os.environ.get("MILVUS_USER"):
        kwargs["user"], kwargs["password"] = os.environ["MILVUS_USER"], os.environ.get("MILVUS_PASSWORD", "")
    try:
        return MilvusClient(uri, **kwargs)
    except MilvusException as e:
        text = str(e)
        if "://" not in uri and _lite_locked(Path(uri)):
            raise StoreLockedError(
                f"the Milvus Lite file {uri} is open in another process",
                hint="Milvus Lite serves one process at a time: close the other chat or build, or use a Milvus server.",
            ) from None
        if "://" in uri:
            raise StoreUnavailableError(f"cannot reach Milvus at {uri} ({e.message if hasattr(e, 'message') else text})",
                                        hint="Start the Milvus server or fix milvus_uri (and MILVUS_TOKEN).") from None
        raise StoreCorruptError(f"cannot open the Milvus Lite file {uri} ({text})",
                                hint=f"Remove {uri} and run `assistant index` to build it again.") from None


def _lite_locked(folder: Path) -> bool:
    """Whether another process holds the Milvus Lite folder (its LOCK is flock()ed
    while a process has it open; pymilvus reports only "Open local milvus failed")."""
    import fcntl
    import os

    try:
        fd = os.open(folder / "LOCK", os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops a lock taken here
    return False


def release(location: StoreLocation) -> None:
    """Let other processes open a Milvus Lite file this process opened (Lite serves one
    process at a time and holds the file until told or until exit)."""
    uri = location.uri()
    if "://" in uri:
        return
    try:
        from milvus_lite.server_manager import server_manager_instance
    except ImportError:
        return
    server_manager_instance.release_server(uri)


def engine_errors(location: StoreLocation, what: str):
    """A failing engine call as a StoreError with the remedy, never a traceback."""
    from pymilvus.exceptions import MilvusException

    class _Guard:
        def __enter__(self):
            return self

        def __exit__(self, kind, error, tb):
            if isinstance(error, MilvusException):
                uri = location.uri()
                if "://" in uri and getattr(error, "code", None) in (1, 2):
                    raise StoreUnavailableError(f"lost the connection to Milvus at {uri} while {what}",
                                                hint="Check that the server is running, then try again.") from None
                # A damaged Milvus Lite folder often cannot even list its collections, so
                # no build can repair it in place.
                remedy = ("Run `assistant index --rebuild` to build it again." if "://" in uri
                          else f"Remove {uri} and run `assistant index` to build it again.")
                raise StoreCorruptError(f"the Milvus index at {uri} is damaged ({what}: {getattr(error, 'message', error)})",
                                        hint=remedy) from None
            return False

    return _Guard()


def live_generation_number(location: StoreLocation, client=None) -> int | None:
    own = client is None
    client = client or connect(location)
    try:
        with engine_errors(location, "reading the live generation"):
            if location.collection not in client.list_aliases().get("aliases", []):
                return None
            m = _GEN.match(client.describe_alias(location.collection)["collection_name"])
        return int(m.group("n")) if m else None
    finally:
        if own:
            client.close()


def iterate(client, collection: str, fields: list[str], filter: str = ""):
    """Every row of a query, in batches (Milvus caps one query's result size)."""
    it = client.query_iterator(collection, batch_size=QUERY_BATCH * 4, filter=filter, output_fields=fields)
    try:
        while True:
            batch = it.next()
            if not batch:
                return
            yield from batch
    finally:
        it.close()


def quoted(values: Iterable[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def read_manifest(client, location: StoreLocation, generation: int) -> Manifest:
    from pydantic import ValidationError

    name = collection_names(location.collection, generation)["meta"]
    with engine_errors(location, "reading the manifest"):
        client.load_collection(name)
        rows = client.query(name, ids=["manifest"], output_fields=["value"])
    try:
        return Manifest.model_validate_json(rows[0]["value"])
    except (IndexError, ValidationError, ValueError):
        raise StoreCorruptError(f"the manifest of generation {generation} in {location.uri()} is damaged",
                                hint="Run `assistant index --rebuild` to build it again.") from None
