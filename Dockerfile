# Peeper's images, built from this repository by the Compose files (compose/server/compose.yml,
# compose/agent/compose.yml: `docker-compose ... up -d --build`, which ./setup.sh -i runs), or
# by hand:
#
#   docker build --target runtime -t peeper:0.1.0 .                  peeper-server + peeper-agent
#   docker build --target toolbox -t peeper-vmbackup-toolbox:0.1.0 .  the backup toolbox
#
# runtime: both programs in /usr/local/bin, run as the unprivileged user `peeper` (uid/gid
# 10001); the entrypoint is peeper-server, the agent's service sets `entrypoint: peeper-agent`.
# toolbox: runtime plus Debian's vmbackup/vmrestore and cron, running scripts/backup.sh as
# `peeper-backup` on a schedule (compose/server/toolbox.sh). A plain `docker build .` builds
# runtime (the last stage).
#
# Only the classic Dockerfile syntax (no BuildKit-only RUN --mount or COPY --chmod), so both
# builders docker-compose 1.29 may use accept it.

# --- build ------------------------------------------------------------------------------------
# Rust 1.95 is the workspace's rust-version. aws-lc-sys and zstd-sys compile their C with the
# image's gcc (no cmake or clang); proto/ is compiled by protox, so no protoc is needed.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# .dockerignore keeps target/, data/, run/, .git, keys, tokens and env files out of the context.
COPY . .
RUN cargo build --release --locked -p peeper-agent -p peeper-server

# --- runtime ----------------------------------------------------------------------------------
# The same Debian release as the build stage (glibc 2.36), pinned to a point release: bump it
# with the Rust image.
FROM debian:12.11-slim AS runtime
# ca-certificates: the system roots the agent trusts besides PEEPER_CA_FILE (pushes to a server
# with a public certificate, probes, certificate checks, MySQL/PostgreSQL TLS). Packages are
# not pinned to versions: Debian replaces them with security updates within the release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
# The data directories belong to `peeper`, so a named volume mounted there starts writable.
RUN groupadd --system --gid 10001 peeper \
    && useradd --system --uid 10001 --gid peeper --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin peeper \
    && install -d -o peeper -g peeper -m 0700 /var/lib/peeper-server /var/lib/peeper-agent
COPY --from=build /src/target/release/peeper-server /src/target/release/peeper-agent /usr/local/bin/
USER 10001:10001
# ingest (plaintext h1/h2c behind the proxy) and the server's own /metrics
EXPOSE 8480 9480
ENTRYPOINT ["peeper-server"]

# --- toolbox (peeper-vmbackup-toolbox, the Compose server stack's profile `backup`) -----------
# Debian's victoria-metrics package brings vmbackup and vmrestore in the 1.79 line the stack's
# VictoriaMetrics runs (and the native install uses); cron runs the schedule, curl reports each
# run's result into VictoriaMetrics. Root: cron needs it, and VictoriaMetrics' files belong to
# root.
FROM runtime AS toolbox
# hadolint ignore=DL3002
USER 0:0
# policy-rc.d: a package's postinst must not start its daemon in the build (Debian's base image
# has the same file; written again so it does not depend on that).
# pam_loginuid: in a container without CAP_AUDIT_CONTROL, cron's PAM session fails to set the
# login uid, and cron then runs no job at all.
# hadolint ignore=DL3008
RUN printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d \
    && chmod 0755 /usr/sbin/policy-rc.d \
    && apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        victoria-metrics cron curl tar \
    && rm -rf /var/lib/apt/lists/* \
    && sed -i 's/^session[[:space:]]\+required[[:space:]]\+pam_loginuid\.so/# &/' /etc/pam.d/cron
COPY scripts/backup.sh /usr/local/bin/peeper-backup
COPY compose/server/toolbox.sh /usr/local/bin/peeper-toolbox
RUN chmod 0755 /usr/local/bin/peeper-backup /usr/local/bin/peeper-toolbox
ENTRYPOINT ["peeper-toolbox"]

# --- default target ----------------------------------------------------------------------------
FROM runtime
