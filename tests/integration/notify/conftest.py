"""The SendGrid and Telegram fakes as real subprocesses, one per test module, reset per test."""

from collections.abc import Iterator

import pytest

from tests.integration.notify.support import API_KEY, TOKEN, Fake, fake_process


@pytest.fixture(scope="module")
def sendgrid_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fake]:
    with fake_process("sendgrid", tmp_path_factory.mktemp("logs"), "--api-key", API_KEY) as fake:
        yield fake


@pytest.fixture
def sendgrid(sendgrid_process: Fake) -> Fake:
    return sendgrid_process.reset()


@pytest.fixture(scope="module")
def telegram_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fake]:
    with fake_process("telegram", tmp_path_factory.mktemp("logs"), "--token", TOKEN) as fake:
        yield fake


@pytest.fixture
def telegram(telegram_process: Fake) -> Fake:
    return telegram_process.reset()
