"""Bad parameters stop the load runner before it touches anything, naming the problem."""

from __future__ import annotations

import pytest

from loadtests import run


@pytest.fixture(autouse=True)
def _nothing_may_start(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(kind: str) -> None:
        raise AssertionError(f"a {kind} run folder was made for bad input")

    monkeypatch.setattr(run, "new_run_folder", refuse)
    monkeypatch.delenv("SPYH_BACKEND_API_KEY", raising=False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--users", "0"], "argument --users: must be at least 1: 0"),
        (["--users", "2.5"], "argument --users: not a whole number: '2.5'"),
        (["--duration", "soon"], "argument --duration: not a duration: 'soon'"),
        (["--duration", "0s"], "argument --duration: must be at least 1 s: '0s'"),
        (["--error-rate", "2"], "argument --error-rate: must be between 0 and 1: 2"),
        (["--spawn-rate", "fast"], "argument --spawn-rate: not a number: 'fast'"),
        (["--topology", "x", "--host", "http://h"], "not allowed with argument --topology"),
    ],
)
def test_bad_parameters_are_refused_by_the_parser(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        run.main(args)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--host", "http://127.0.0.1:1", "--signal-rate", "5", "--api-key", "k"],
            "the signal storm needs a topology's gateway and bots: drop --host",
        ),
        (["--api-key", "k"], "--api-key goes with --host; a topology has its own key"),
        (["--host", "http://127.0.0.1:1"], "--host needs --api-key or SPYH_BACKEND_API_KEY"),
    ],
)
def test_parameters_that_do_not_fit_together_are_refused(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run.main(args) == 2
    assert capsys.readouterr().err == f"load: error: {message}\n"
