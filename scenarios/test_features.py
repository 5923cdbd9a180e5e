"""Binds every feature file to pytest; an undefined step fails naming the step."""

from pytest_bdd import scenarios

scenarios("features")
