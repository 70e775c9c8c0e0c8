# Builds the single binary, then ships it alone on a slim base.
FROM oven/bun:1.3 AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN bun install --frozen-lockfile || bun install
COPY . .
RUN bun run build

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends curl ca-certificates && rm -rf /var/lib/apt/lists/* \
 && printf '#!/bin/sh\nexec curl -fsS http://127.0.0.1:8080/readyz >/dev/null\n' > /usr/local/bin/acu-healthcheck \
 && chmod +x /usr/local/bin/acu-healthcheck
COPY --from=build /src/dist/acu /usr/local/bin/acu
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/acu"]
