# Stand-in for caddy:2: Debian's caddy, laid out as the official image (config in /etc/caddy, state in /data).
FROM jackbox-ci/debian:bookworm
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends caddy ca-certificates \
 && rm -rf /var/lib/apt/lists/* && mkdir -p /data /config
ENV XDG_CONFIG_HOME=/config XDG_DATA_HOME=/data
EXPOSE 80
CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]
