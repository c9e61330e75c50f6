"""Use cases of statistics: the network's lending figures (who borrows, who lends, states, turnaround).

The figures are anonymous by construction: counts and durations, never a patron. Lending computes
them from its own tables (`lending.service.lending_statistics`); this is where the statistics pages,
exports and charts will read them.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from fjernlaan.lending import service as lending
from fjernlaan.lending.model import LendingStatistics


def lending_statistics(session: Session) -> LendingStatistics:
    """Requests by state, borrowing library, patron category and service; attempts by lender and
    state; supplies per lender; turnaround totals."""
    return lending.lending_statistics(session)
