# Multi-stage build: compile with the dev toolchain, ship production dependencies only, run as a non-root user.
# Node 24 LTS, pinned to the version in .nvmrc (the one CI tests on).
FROM node:24.22.3-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 (the embedded default) builds from source when no prebuilt binary is available.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json .swcrc nest-cli.json ./
COPY apps ./apps
COPY libs ./libs
RUN npm run build && npm prune --omit=dev

FROM node:24.22.3-bookworm-slim
ENV NODE_ENV=production \
    ENVIRONMENT=production \
    PORT=8000 \
    HOST=0.0.0.0 \
    LOG_DIR=/app/logs \
    SQLITE_PATH=/app/data/terra_constellata.sqlite
WORKDIR /app
# UID and GID 10001: above the range host users get (kube-score's container-security-context-user-group-id asks
# for >= 10000), so a container escape does not land on a real account; deploy/k8s runs the pods with the same ids.
# The files belong to root and are read-only for the service; it writes only to logs/ and data/.
RUN groupadd --gid 10001 terra && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin terra
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
RUN mkdir -p /app/logs /app/data && chown 10001:10001 /app/logs /app/data
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8000) + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# main.js loads instrument.js (Sentry) before anything else.
CMD ["node", "dist/apps/api/src/main.js"]
