"""A device that pages forever (it refused 'terminal length 0', so ibagent presses space at each
--More--) is held to one command's output budget across its pages, not 16 MiB a page."""
from __future__ import annotations

import asyncio

import pytest

from collectors import ssh
from collectors.base import CollectError

PAGE = ("x" * 99 + "\r\n") * 10_000 + " --More-- "  # ~1 MiB of text, then the pager's mark


class _EndlessPager:
    """A channel whose device answers every space with another page."""

    def __init__(self, shell: ssh._Shell) -> None:
        self.shell = shell
        self.spaces = 0

    def write(self, data: str) -> None:
        assert data == " "
        self.spaces += 1
        asyncio.get_running_loop().call_soon(self.shell.data_received, PAGE.encode(), None)


def test_an_endless_pager_is_cut_at_the_output_budget():
    async def run():
        shell = ssh._Shell()
        chan = _EndlessPager(shell)
        shell.data_received(PAGE.encode(), None)
        with pytest.raises(CollectError) as err:
            await ssh._read_paged(chan, shell, lambda tail: tail == "sw1#", timeout=5)
        return chan, shell, err.value

    chan, shell, exc = asyncio.run(run())
    assert exc.kind == "garbage" and "output exceeded 16 MiB over" in exc.message
    budget_pages = ssh._MAX_OUTPUT // len(PAGE) + 1
    assert chan.spaces == budget_pages - 1  # stopped at the budget, not at _MAX_PAGES (100,000)
    # The pages read are kept for the partial capture, as for any failure mid-listing.
    assert sum(map(len, shell.buffer)) == budget_pages * len(PAGE)
