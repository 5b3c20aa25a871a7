"""Keyboard-interactive with several prompts in one round (AAA asking for the user name again), and a
question the collector cannot answer: an asyncssh server in-process (no root needed; the real-sshd
tests cover PAM's single 'Password:' prompt)."""
from __future__ import annotations

import asyncio

import asyncssh
import pytest

from agent.core.models import Credential, Target
from collectors.base import CollectError
from collectors.ssh import connect
from lab.server import host_key

USER, PASSWORD = "aaa-user", "aaa-Secret-9"


class _Server(asyncssh.SSHServer):
    def __init__(self, prompts, seen):
        self.prompts = prompts
        self.seen = seen

    def begin_auth(self, username):
        return True

    def kbdint_auth_supported(self):
        return True

    def get_kbdint_challenge(self, username, lang, submethods):
        return "AAA", "Authenticate", "en-US", self.prompts

    def validate_kbdint_response(self, username, responses):
        self.seen.append(list(responses))
        return username == USER and list(responses)[-1] == PASSWORD


async def _try(prompts) -> list:
    seen: list = []
    server = await asyncssh.listen("127.0.0.1", 0, server_host_keys=[host_key()],
                                   server_factory=lambda: _Server(prompts, seen))
    port = server.sockets[0].getsockname()[1]
    target = Target("sw", "127.0.0.1", "cisco_ios", port=port, credential=Credential(USER, PASSWORD))
    try:
        conn = await connect(target, connect_timeout=5)
        conn.close()
        await conn.wait_closed()
    finally:
        server.close()
        await server.wait_closed()
    return seen


def test_username_and_password_prompts_in_one_round_are_both_answered():
    seen = asyncio.run(_try([("Username: ", True), ("Password: ", False)]))
    assert seen == [[USER, PASSWORD]]


def test_a_single_password_prompt_is_answered():
    assert asyncio.run(_try([("Password: ", False)])) == [[PASSWORD]]


def test_a_question_without_an_answer_is_an_auth_failure_and_the_password_is_not_guessed_into_it():
    with pytest.raises(CollectError) as err:
        asyncio.run(_try([("Password: ", False), ("Enter the token from your phone: ", False)]))
    assert err.value.kind == "auth"
