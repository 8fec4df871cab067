"""Herald plus one test-only route that reports the worker's garbage-collector settings.

`gunicorn.conf.py` tunes the collector in each worker (`_tune_the_collector`);
only a request to that worker can see whether it did.
"""

import gc

from wsgi import app


@app.get("/test/collector")
def collector_settings():
    return {"thresholds": list(gc.get_threshold()), "frozen": gc.get_freeze_count()}
