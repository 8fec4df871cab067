# Herald: gunicorn's gevent worker serving wsgi:app, with the Kafka and RabbitMQ drivers.
#
#   docker build -t herald .
#   docker run -p 8000:8000 -e JWT_SECRET_KEY=$(openssl rand -hex 32) \
#       -e MONGODB_URI=mongodb://db:27017/herald -e BROKER_URL=kafka://kafka:9092 herald
#
# Usually started by docker-compose.yml. Every setting is an environment
# variable read by config.py (or gunicorn.conf.py: HOST, PORT, WEB_CONCURRENCY,
# WORKER_CONNECTIONS); production refuses a missing or short JWT_SECRET_KEY.

ARG PYTHON_IMAGE=python:3.11-slim

# ---- builder: wheels for Herald and every dependency, installed into /opt/venv
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
# The package metadata first, so the dependency layer is rebuilt only when it changes.
COPY setup.cfg pyproject.toml README.md ./
COPY app ./app

# confluent-kafka, gevent, bcrypt and greenlet come as manylinux wheels: no compiler needed.
RUN pip wheel --wheel-dir /wheels '.[brokers]' \
 && python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-index --find-links /wheels 'herald[brokers]' \
 && /opt/venv/bin/pip uninstall --yes pip \
 && find /opt/venv -name '__pycache__' -type d -prune -exec rm -rf {} +

# ---- runtime: the virtualenv and the three top-level modules, nothing else
FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    HERALD_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000

RUN groupadd --system --gid 10001 herald \
 && useradd --system --uid 10001 --gid herald --home-dir /srv/herald --no-create-home \
        --shell /usr/sbin/nologin herald

COPY --from=builder /opt/venv /opt/venv

WORKDIR /srv/herald
# wsgi.py, config.py and gunicorn.conf.py are top-level modules, not part of the
# installed `app` package. Owned by root: the service user cannot change its code.
COPY wsgi.py config.py gunicorn.conf.py ./

USER 10001:10001

EXPOSE 8000

# No curl in slim images: Python's standard library asks /healthz (the process
# is up; /readyz would also fail on a broker outage, which a restart won't fix).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"]

# gunicorn.conf.py: the gevent worker, bound to HOST:PORT; SIGTERM stops it gracefully.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
