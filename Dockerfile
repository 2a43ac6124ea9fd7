# The diemnong image: one image for the api, crawler, feed poller and alerts worker services.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY diemnong ./diemnong
COPY indexer ./indexer
COPY crawlers ./crawlers
COPY complaints ./complaints
COPY alerts ./alerts
COPY api ./api
COPY statements ./statements
COPY sources ./sources
RUN pip install --no-cache-dir .
ENV DIEMNONG_DATA_DIR=/data
VOLUME ["/data"]
ENTRYPOINT ["diemnong"]
