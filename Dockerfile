# The gridwatch image: one image, the command picks the program (edge, central, simulate).
# better-sqlite3 compiles a native addon, so the build stage has a toolchain and the runtime
# stage only the result.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
# .npmrc: onnxruntime-node-install=skip keeps the CPU binaries the package ships (no GPU download).
COPY package.json package-lock.json .npmrc ./
# postinstall: kafkajs' grouping of a send by partition made linear (the script says why).
COPY scripts/patch-kafkajs.mjs ./scripts/
RUN npm ci --omit=dev
COPY bin ./bin
COPY cli ./cli
COPY shared ./shared
COPY edge ./edge
COPY central ./central
COPY simulator ./simulator
COPY contracts ./contracts
# The shipped default model of central's learned scorer (central/learn).
COPY models ./models
COPY tsconfig.json ./
# The edge gateway prebuilt for plain node (dist/edge.mjs, edge/entry.ts), as deploy/systemd runs it; the
# compose edges still run `gridwatch edge` (docker-compose.yml says why).
COPY scripts/build-edge.mjs ./scripts/
RUN node scripts/build-edge.mjs

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production GRIDWATCH_DATA_DIR=/var/lib/gridwatch
# openssl: the compose init service makes the deployment's CA and certificates with it.
RUN apt-get update && apt-get install -y --no-install-recommends openssl && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --home /var/lib/gridwatch gridwatch && mkdir -p /var/lib/gridwatch && chown gridwatch /var/lib/gridwatch
COPY --from=build /app /app
USER gridwatch
VOLUME ["/var/lib/gridwatch"]
ENTRYPOINT ["node", "/app/bin/gridwatch.js"]
CMD ["--help"]
