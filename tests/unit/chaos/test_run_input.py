"""Bad input stops the chaos runner before it touches anything, with one line naming it."""

from __future__ import annotations

import pytest

from chaos import run, runner


@pytest.fixture(autouse=True)
def _nothing_may_start(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(kind: str) -> None:
        raise AssertionError(f"a {kind} run folder was made for bad input")

    monkeypatch.setattr(run, "new_run_folder", refuse)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--drill", "nope"], "chaos: error: no drill 'nope'; drills: "),
        (["--var", "fault_s"], "chaos: error: --var takes KEY[:TYPE]=VALUE"),
        (["--var", "fault_s:int=soon"], "chaos: error: --var takes KEY[:TYPE]=VALUE"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run.main(argv) == 2
    assert capsys.readouterr().err.startswith(message)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--repeats", "0"], "must be a whole number of at least 1"),
        (["--soak", "ten minutes"], "not a duration: 'ten minutes'"),
        (["--soak", "0s"], "must be at least 1 s: '0s'"),
        (["--traffic", "fast"], "must be 0 (off) to 50 signals per second: 'fast'"),
        (["--traffic", "-1"], "must be 0 (off) to 50 signals per second: '-1'"),
    ],
)
def test_bad_options_are_refused_by_the_parser(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        run.main(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("90s", 90), ("10m", 600), ("1h30m", 5400), ("1m5s", 65)]
)
def test_durations(text: str, seconds: int) -> None:
    assert runner.timespan(text) == seconds
