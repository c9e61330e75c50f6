"""The areas' timers: importing this module registers them with the worker (`jobs.register_timer`).

`jobs.run_once` imports it on every pass, so `fjernlaan worker` and tests that call `run_once` run the
same timers.
"""

from __future__ import annotations

from fjernlaan.lending import timers as lending_timers
from fjernlaan.privacy import jobs as privacy_jobs

AREAS = (lending_timers, privacy_jobs)
