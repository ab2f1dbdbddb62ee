# shellcheck shell=bash
# HAProxy's configuration for scripts/run-cluster, which sources this file: one frontend on the address
# GSvar is given, one backend of the API nodes, each health-checked on GET /readyz.

# Prints the configuration: HAProxy on <listen>, its admin socket in <dir>, one node per port.
haproxy_config() { # listen dir port...
  local listen="$1" cluster="$2" n=0 port
  shift 2
  cat <<EOF
# Written by scripts/run-cluster; rewritten on every start.
global
  log stdout format short local0 info
  # 'show stat' / 'show servers state' here: socat - UNIX-CONNECT:$cluster/haproxy.sock
  stats socket $cluster/haproxy.sock mode 600 level admin

defaults
  mode http
  log global
  option httplog
  # The API nodes log the client named in X-Forwarded-For (a refused token names who sent it).
  option forwardfor
  timeout connect 2s
  timeout client 5m
  # Long enough for a followed job log (/api/v1/jobs/<id>/logs?follow=true) between two writes.
  timeout server 5m
  # A connection a dead node refuses never reached it, so sending the request to another node is safe
  # even for a submit; a request that reached a node is never sent twice (retry-on stays at its
  # default, connect failures only).
  retries 2
  option redispatch 1

frontend hopper
  bind $listen
  default_backend api_nodes

backend api_nodes
  balance roundrobin
  # /readyz answers 503 once a node starts shutting down, and while it cannot reach Redis or RabbitMQ:
  # two failed checks one second apart take it out, two good ones bring it back.
  option httpchk GET /readyz
  http-check expect status 200
  default-server inter 1s fall 2 rise 2
EOF
  for port in "$@"; do
    n=$((n + 1))
    printf '  server api-%d 127.0.0.1:%s check\n' "$n" "$port"
  done
}
