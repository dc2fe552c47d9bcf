"""The type each snapshot section and daemon-wide value must have, checked when it is written.

Why a separate module with imports inside the functions: the section types live with their
indicators, which import ``snapshot.store`` (for ``IndicatorValue``); importing them on first use
keeps that from being an import cycle. ``features.FEATURES`` names the same types (a test checks
that the two agree).
"""

from __future__ import annotations

from functools import cache


@cache
def section_types() -> dict[str, type]:
    """Section name -> its type; imported on first use (the types import snapshot.store)."""
    from ..indicators.difficulty_view import DifficultyView
    from ..indicators.economics import EconomicsSection
    from ..indicators.fees import FeesSection
    from ..indicators.pools import PoolsSection
    from .blocks import RecentBlocks

    return {
        "difficulty": DifficultyView,
        "blocks": RecentBlocks,
        "fees": FeesSection,
        "economics": EconomicsSection,
        "pools": PoolsSection,
    }


@cache
def global_types() -> dict[str, type]:
    from ..indicators.economics import PriceFailure, PriceQuote

    return {"price": PriceQuote, "price_error": PriceFailure}
