"""Optimistic concurrency: an entity's version is its ETag, If-Match names the versions a
change may start from (agreements, claims)."""

from app.core.errors import PreconditionFailed, PreconditionRequired

# Longer digit strings name no version a row can reach, and int() of thousands is slow.
_MAX_DIGITS = 9


def etag(version: int) -> dict[str, str]:
    """The ETag header of an entity at `version`."""
    return {"ETag": f'"{version}"'}


def if_match_versions(header: str | None, *, entity: str, current: int) -> set[int] | None:
    """The versions an If-Match names (None for `*`); 428 when it is missing, naming the
    entity's `current` version (and sending its ETag). A weak tag (`W/"3"`) names its version
    too; text that is no version names none (so 412 follows)."""
    if header is None or not header.strip():
        raise PreconditionRequired(
            f"Send If-Match with the ETag of your last read of the {entity}; it is now at "
            f'version {current}: If-Match: "{current}"',
            headers=etag(current),
        )
    versions: set[int] = set()
    for raw in header.split(","):
        tag = raw.strip().removeprefix("W/").strip('"')
        if tag == "*":
            return None
        if tag.isascii() and tag.isdigit() and len(tag) <= _MAX_DIGITS:
            versions.add(int(tag))
    return versions


def stale(entity: str, version: int) -> PreconditionFailed:
    """412 for a change from a version that is no longer `version`, with the current ETag."""
    return PreconditionFailed(
        f"The {entity} has changed (now version {version}); read it again",
        headers=etag(version),
    )


def check_version(entity: str, version: int, versions: set[int] | None) -> None:
    """412 unless `version` is one of `versions` (None: any, as `If-Match: *`)."""
    if versions is not None and version not in versions:
        raise stale(entity, version)
