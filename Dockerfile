# syntax=docker/dockerfile:1
# genguard image: one image for every process (bot, worker, api); docker-compose.yml picks the command.
#
#   docker build -t genguard .
#   docker run --rm --env-file .env genguard config check
#
# Stage 1 builds with the dev dependencies (TypeScript); stage 2 holds only what runs:
# production dependencies, dist/, bin/ and the model files, as a non-root user.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc tsconfig.json tsconfig.build.json ./
COPY src ./src
# `npm ci` runs the `prepare` script, which compiles src/ to dist/.
RUN npm ci --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    GENGUARD_DATA_DIR=/data
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# --ignore-scripts: `prepare` would rebuild with dev tools this stage does not have (dist/ comes
# from the build stage); the native modules (sharp, onnxruntime-node, msgpackr) ship prebuilt binaries.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
# The models are baked in; the build fails here if a weight file is missing or fails its checksum.
COPY models ./models
RUN node bin/genguard.js models verify \
 && mkdir -p /data && chown node:node /data
USER node
# 8080: detection API (genguard serve / start); 9464: /metrics and /health of workers and bots;
# 3000: Slack Events API (HTTP mode only).
EXPOSE 8080 9464 3000
ENTRYPOINT ["node", "bin/genguard.js"]
CMD ["start"]
