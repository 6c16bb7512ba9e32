# syntax=docker/dockerfile:1
# One image for both services: the command picks the gateway (default) or a replica.
#   docker build -t switchyard .                                  # offline ResNet18 graph, built at start-up
#   docker build -t switchyard --build-arg FETCH_PRETRAINED=1 .   # bake in the pretrained model (sha256-checked)
#   docker run -p 127.0.0.1:8080:8080 switchyard                            # gateway (needs replicas: see docker-compose.yml)
#   docker run -e PORT=8081 switchyard replica/src/main.ts        # a replica
# With podman, build with `--format docker`: the OCI format (podman's default) has no HEALTHCHECK and drops it.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# onnxruntime-node ships its native library for every OS and CPU (≈ 290 MB); keep only Linux on this image's CPU
# (process.arch is the target's under buildx emulation too), and fail the build if that one is missing.
RUN npm ci --omit=dev && npm cache clean --force && \
    arch=$(node -p process.arch) && \
    find node_modules/onnxruntime-node/bin -mindepth 2 -maxdepth 2 ! -name linux -exec rm -rf {} + && \
    find node_modules/onnxruntime-node/bin -mindepth 3 -maxdepth 3 ! -name "$arch" -exec rm -rf {} + && \
    ls node_modules/onnxruntime-node/bin/napi-v*/linux/"$arch"/onnxruntime_binding.node >/dev/null

FROM deps AS model
ARG FETCH_PRETRAINED=0
COPY common ./common
COPY replica ./replica
RUN mkdir -p /models && if [ "$FETCH_PRETRAINED" = "1" ]; then \
      MODEL_CACHE_DIR=/models node replica/tools/model-fetch.ts; \
    fi

FROM ${NODE_IMAGE} AS runtime
# tini as PID 1 forwards SIGTERM to node (which drains) and reaps any child processes. apt's caches and logs go in
# the same layer (base images without Docker's apt clean-up hook would otherwise keep ~80 MB of package indexes).
RUN apt-get update && apt-get install -y --no-install-recommends tini && \
    apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log
WORKDIR /app
# A read-only root filesystem is fine: Node strips the TypeScript types in memory, models live in /models.
# Outside a container the services listen on 127.0.0.1 by default; in one, every interface (the port is published).
ENV NODE_ENV=production MODEL_CACHE_DIR=/models PORT=8080 HOST=0.0.0.0
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY common ./common
COPY replica ./replica
COPY gateway ./gateway
COPY --from=model /models /models
# The gateway's batch jobs (DATA_DIR): a volume mounted here starts out owned by the user that writes it. Without a
# writable one (a read-only root and no volume) the gateway serves predictions with batch jobs disabled.
RUN mkdir -p /data && chown node:node /data
ENV DATA_DIR=/data
USER node
EXPOSE 8080 8081
# A script file, not `node -e "…"`: no argument with spaces, so every runtime passes it through unchanged. It reads
# PORT, as the service does; compose and Kubernetes check /readyz instead (see docker-compose.yml and k8s/).
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 CMD ["node", "common/healthcheck-cli.ts"]
ENTRYPOINT ["/usr/bin/tini", "--", "node"]
CMD ["gateway/src/main.ts"]
