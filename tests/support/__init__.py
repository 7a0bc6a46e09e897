"""Test helpers shared by the CPython test tier."""
