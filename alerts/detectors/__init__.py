"""The detectors: pure functions from counts, links and articles to `alerts.findings.Finding`.

Nothing here talks to the engine; `alerts.checker` gathers the inputs (`alerts.volume`) and
stores what they report.
"""
