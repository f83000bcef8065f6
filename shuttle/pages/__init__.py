"""The HTML pages: one module per screen family, each handler parsing the request once and
calling one service (DESIGN.md). ``web.py`` holds what every page needs."""
