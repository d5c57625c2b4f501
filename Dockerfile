# syntax=docker/dockerfile:1
#
# kubechanges:0.1.0
#   docker build -t kubechanges:0.1.0 .
#
# Two stages on the same Node 20 Debian base, so the native better-sqlite3
# addon compiled (or fetched prebuilt) in the build stage matches the
# runtime's glibc and Node ABI exactly.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: compile TypeScript, build native deps, drop dev deps ----------
FROM ${NODE_IMAGE} AS build
# Toolchain for node-gyp, used when no better-sqlite3 prebuild fits.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app

# Dependencies first, for layer caching. --ignore-scripts: `npm ci` would run
# the `prepare` script (the build) before the sources are here; install
# scripts are then run explicitly for the one native production dependency.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3

COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
 && node -e "require('better-sqlite3')(':memory:').close()"

# ---- runtime: production node_modules + dist only --------------------------
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
# A named user for uid 10001 (os.userInfo(), tools that look up $HOME).
RUN groupadd --gid 10001 kubechanges \
 && useradd --uid 10001 --gid 10001 --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin kubechanges \
 && mkdir -p /etc/kubechanges/tls /var/lib/kubechanges \
 && chown 10001:10001 /var/lib/kubechanges
WORKDIR /app
# Owned by root, read-only for the service user; the root filesystem is
# mounted read-only in Kubernetes anyway. package.json carries "type": "module".
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The timeline page (GET /): plain files served from the source folder.
COPY --from=build /app/src/http/ui ./src/http/ui

USER 10001:10001
EXPOSE 8443
# The store; in Kubernetes a PersistentVolumeClaim is mounted here.
VOLUME ["/var/lib/kubechanges"]
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["serve"]
