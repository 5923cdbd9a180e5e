"""Where the local topology runs the detector: as the environment's Terraform deploys it."""

from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.local_topology import detector_apart


def test_dev_and_prod_run_the_detector_in_the_backend() -> None:
    assert not detector_apart("dev")
    assert not detector_apart("prod")


def test_container_instances_enabled_puts_it_apart(tmp_path: Path) -> None:
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "terraform.tfvars").write_text("container_instances_enabled = true\n")
    assert detector_apart("lab", tmp_path)


def test_an_environment_without_tfvars_is_named(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="environment 'staging' is not deployable"):
        detector_apart("staging", tmp_path)
