"""The calls a method gets while a test runs."""

from __future__ import annotations

from typing import Any, Callable


def recorded_calls(monkeypatch, owner: type, name: str, noted: Callable[[Any], Any]) -> list:
    """A list that gets `noted(argument)` for each call of the method `owner.name` from now on
    (`argument`: what it is called with after `self`)."""
    calls: list = []
    method = getattr(owner, name)

    def recorded(self, argument, *rest):
        calls.append(noted(argument))
        return method(self, argument, *rest)

    monkeypatch.setattr(owner, name, recorded)
    return calls
