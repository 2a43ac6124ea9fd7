"""The register as every entry point builds it: compiled percolator queries, and earlier
coverage searched again whenever a complaint is created or edited."""

from __future__ import annotations

from collections.abc import Sequence

from complaints.links import percolate, repercolate, store_links
from complaints.matching import compile_for_register
from complaints.register import ComplaintRegister
from indexer.adapter import Engine
from indexer.layout import IndexNames
from indexer.models import Article, Complaint


def build_register(engine: Engine, names: IndexNames, repercolate_days: int) -> ComplaintRegister:
    def find_earlier_coverage(complaint: Complaint) -> None:
        if complaint.is_open:
            repercolate(engine, names, complaint, days=repercolate_days)

    return ComplaintRegister(
        engine, names, compile_query=compile_for_register, on_saved=find_earlier_coverage
    )


def link_new_articles(engine: Engine, names: IndexNames, articles: Sequence[Article]) -> int:
    """Percolate freshly indexed articles against open complaints and store the links."""
    links = percolate(engine, names, articles)
    if links:
        store_links(engine, names, links)
    return len(links)
