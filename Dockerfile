# syntax=docker/dockerfile:1.7
# One build, two images: `acu` (the single binary on a slim base) and `analyzer` (the binary beside a
# Spark client, for analyzer runs on a Spark cluster). compose.yaml picks the target per service.
# Versions are the ones the tests run: Bun from package-lock.json, Spark and the PostgreSQL JDBC driver
# from scripts/cluster.d/spark.sh (tests/compose.test.ts checks both).
FROM oven/bun:1.4.5 AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Exactly the lockfile's packages, or the build fails: never a fresh resolution.
RUN bun install --frozen-lockfile
COPY . .
RUN bun run build

# Health checks run `acu healthcheck` (GET /readyz on the ops port): no curl needed in either image.
FROM debian:bookworm-slim AS acu
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
  && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home acu \
  && mkdir -p /data && chown acu:acu /data
COPY --from=build /src/dist/acu /usr/local/bin/acu
USER acu
WORKDIR /data
EXPOSE 8080 9464
ENTRYPOINT ["/usr/local/bin/acu"]

FROM apache/spark:4.3.0-python3 AS analyzer
USER root
COPY --from=build /src/dist/acu /usr/local/bin/acu
COPY spark/ /opt/acu/spark/
# The JDBC driver Spark writes the warehouse with, checked against its digest (Maven Central's artifact).
ADD --checksum=sha256:73914527305a40cce504b0d3d90b23caf565136912d607ae8ae7c5895512332c \
  https://repo1.maven.org/maven2/org/postgresql/postgresql/42.7.14/postgresql-42.7.14.jar /opt/acu/jars/postgresql.jar
RUN chmod 0644 /opt/acu/jars/postgresql.jar && mkdir -p /data && chown spark:spark /data
# The Spark image's own unprivileged user.
USER spark
WORKDIR /data
ENTRYPOINT ["/usr/local/bin/acu"]
