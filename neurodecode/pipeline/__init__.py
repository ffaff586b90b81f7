"""Batch runs: config → many sessions → results store → report (``neurodecode run``)."""
