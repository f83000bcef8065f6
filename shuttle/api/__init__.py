"""The JSON API of ../shared/API.md: handlers parse once, call one service, return JSON."""
