# One build, two images: `acu` (the single binary on a slim base) and `analyzer` (the binary beside a
# Spark client, for analyzer runs on a Spark cluster). compose.yaml picks the target per service.
FROM oven/bun:1.3 AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN bun install --frozen-lockfile || bun install
COPY . .
RUN bun run build

# Health checks run `acu healthcheck` (GET /readyz on the ops port): no curl needed in either image.
FROM debian:bookworm-slim AS acu
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/dist/acu /usr/local/bin/acu
EXPOSE 8080 9464
ENTRYPOINT ["/usr/local/bin/acu"]

FROM apache/spark:4.0.1-python3 AS analyzer
USER root
COPY --from=build /src/dist/acu /usr/local/bin/acu
COPY spark/ /opt/acu/spark/
ADD https://repo1.maven.org/maven2/org/postgresql/postgresql/42.7.14/postgresql-42.7.14.jar /opt/acu/jars/postgresql.jar
ENTRYPOINT ["/usr/local/bin/acu"]
