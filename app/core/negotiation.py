"""Content negotiation: the representation an `Accept` header prefers among those offered."""

from collections.abc import Mapping
from typing import TypeVar

T = TypeVar("T")


def negotiate(accept: str | None, offers: Mapping[str, T], default: T) -> T | None:
    """The offer `Accept` prefers (by q, then by order; media types compared without their
    parameters, wildcards only as `offers` lists them); `default` when there is no header, and
    None when the header accepts nothing offered (the caller answers 406)."""
    if accept is None or not accept.strip():
        return default
    best: tuple[float, int, T] | None = None
    for position, part in enumerate(accept.split(",")):
        media, *options = (piece.strip() for piece in part.split(";"))
        chosen = offers.get(media.lower())
        if chosen is None:
            continue
        quality = _quality(options)
        if quality <= 0:
            continue
        if best is None or (-quality, position) < (-best[0], best[1]):
            best = (quality, position, chosen)
    return best[2] if best else None


def _quality(options: list[str]) -> float:
    for option in options:
        name, _, value = option.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                return 0.0
            return quality if 0 <= quality <= 1 else 0.0
    return 1.0
