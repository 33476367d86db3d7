"""Scenarios: a day of Chiba's smart-city mobility as data (TOML), its demand, and its report."""
