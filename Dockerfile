# syntax=docker/dockerfile:1
# Three stages: compile with every dependency, install production dependencies apart, then a runtime image that
# holds only compiled JavaScript, the bundled catalog and production node_modules, and runs as the `node` user.
# CI builds this image and runs it alone and under Compose with a real engine (.ci/containers.sh).

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# tsc writes dist/ (.ts imports rewritten to .js); the script also copies db/catalog/*.csv, read at boot, and bundles the
# pages (esbuild, a dev dependency) into dist/pages/dist, so the runtime image serves them without a bundler.
RUN npm run build

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:24-bookworm-slim
# MALLOC_ARENA_MAX=2: glibc gives each thread that allocates (V8's compiler and GC helpers, libuv's pool) its own
# malloc arena, which keeps what it freed; two arenas in all keep ~10 MB less resident (bench/footprint).
ENV NODE_ENV=production \
    PORT=5000 \
    HOST=0.0.0.0 \
    DATA_DIR=/data \
    MALLOC_ARENA_MAX=2
WORKDIR /app
# The code stays owned by root, so the service cannot rewrite itself; only DATA_DIR (the embedded database, used
# when DATABASE_URL is unset) is writable. A named volume mounted there starts with this ownership.
RUN mkdir /data && chown node:node /data
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 5000
# Slim images have no curl: node asks the service itself. Every 5 s, so the container turns healthy within 5 s of
# answering (docker 20.10, Compose 1.29 and podman 4.3 have no --start-interval); a check is one short node process.
# The start period covers initdb and migrations at boot; 5 failures in a row (25 s) mean unhealthy.
HEALTHCHECK --interval=5s --timeout=5s --start-period=60s --retries=5 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 5000) + '/api/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node runs directly (no npm, no shell) so SIGTERM from `docker stop` reaches server.ts, which drains and exits.
# Compose adds an init process (init: true) in front of it; with plain `docker run`, pass --init.
# The flags are npm start's (test/deploy.test.ts checks they agree); bench/footprint measures what each saves.
# --liftoff-only: V8 runs the embedded database's WebAssembly with its baseline compiler only. Its optimising tier
# compiled PGlite's hot functions at boot and peaked ~500 MB over a ~300 MB boot; it must be a command-line flag (set
# at run time it comes too late). Nothing else in the service is WebAssembly.
# --max-semi-space-size=2: V8's young generation grows to 2 x 32 MB during the allocations of a boot and never gives
# it back, though a request allocates a few KB; capped at 2 x 2 MB the service idles ~55 MB smaller.
CMD ["node", "--liftoff-only", "--max-semi-space-size=2", "dist/server.js"]
