# syntax=docker/dockerfile:1
# One image for both services: the command picks the gateway (default) or a replica.
#   docker build -t switchyard .                                  # offline ResNet18 graph, built at start-up
#   docker build -t switchyard --build-arg FETCH_PRETRAINED=1 .   # bake in the pretrained model (sha256-checked)
#   docker run -p 8080:8080 switchyard                            # gateway (needs replicas: see docker-compose.yml)
#   docker run -e PORT=8081 switchyard replica/src/main.ts        # a replica
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev && npm cache clean --force

FROM deps AS model
ARG FETCH_PRETRAINED=0
COPY common ./common
COPY replica ./replica
RUN mkdir -p /models && if [ "$FETCH_PRETRAINED" = "1" ]; then \
      MODEL_CACHE_DIR=/models node replica/tools/model-fetch.ts; \
    fi

FROM ${NODE_IMAGE} AS runtime
# tini as PID 1 forwards SIGTERM to node (which drains) and reaps any child processes.
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# A read-only root filesystem is fine: Node strips the TypeScript types in memory, models live in /models.
ENV NODE_ENV=production MODEL_CACHE_DIR=/models PORT=8080
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY common ./common
COPY replica ./replica
COPY gateway ./gateway
COPY --from=model /models /models
# The gateway's batch jobs (DATA_DIR): a volume mounted here starts out owned by the user that writes it.
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8080 8081
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "node"]
CMD ["gateway/src/main.ts"]
