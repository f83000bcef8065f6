"""The practitioners' pages: the queue, the review screen, cases, escalations, disclosures.

``PAGES`` lists this package's routes; ``shuttle/routes.py`` includes them.
"""

from __future__ import annotations

from shuttle.routing import Route

# fmt: off
PAGES: tuple[Route, ...] = (
)
# fmt: on
