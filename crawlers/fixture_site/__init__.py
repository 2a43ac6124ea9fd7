"""Local imitation of Vietnamese news outlets for integration tests and ``diemnong demo``."""

from crawlers.fixture_site.models import OutletInfo, Story
from crawlers.fixture_site.server import FixtureSite

__all__ = ["FixtureSite", "OutletInfo", "Story"]
