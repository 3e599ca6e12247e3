"""free_port never hands the same port out twice in one process: the kernel may offer it again before it is bound."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

from worker import seaweed


class _Socket:
    offers = itertools.chain([41001, 41001, 41002], itertools.count(41003))

    def __enter__(self) -> _Socket:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def bind(self, address: tuple[str, int]) -> None:
        self.port = next(self.offers)

    def getsockname(self) -> tuple[str, int]:
        return "127.0.0.1", self.port


def test_a_port_offered_twice_is_given_once(monkeypatch) -> None:
    monkeypatch.setattr(seaweed, "socket", SimpleNamespace(socket=_Socket))  # this module's sockets only
    monkeypatch.setattr(seaweed, "_HANDED_OUT", set())
    assert [seaweed.free_port() for _ in range(3)] == [41001, 41002, 41003]


def test_real_ports_are_distinct() -> None:
    assert len({seaweed.free_port() for _ in range(50)}) == 50
