#!/bin/sh
# compose's one-shot etcd setup (service etcd-setup): root, a user and a role per acu role with the
# permissions of deploy/engines/grants.txt, then auth on. Idempotent (a second run finds auth on and
# works as root). Needs ETCD_ROOT_PASSWORD and <ROLE>_ENGINE_PASSWORD.
set -eu
export ETCDCTL_API=3 ETCDCTL_ENDPOINTS=http://etcd-1:2379,http://etcd-2:2379,http://etcd-3:2379
# With auth off, etcd refuses to authenticate anyone: root's login works only once auth is on.
if etcdctl --user "root:$ETCD_ROOT_PASSWORD" user get root >/dev/null 2>&1; then
  as="--user=root:$ETCD_ROOT_PASSWORD"
else
  as=""
  etcdctl user get root >/dev/null 2>&1 || etcdctl user add root --new-user-password="$ETCD_ROOT_PASSWORD" >/dev/null
  etcdctl role get root >/dev/null 2>&1 || etcdctl role add root >/dev/null
  etcdctl user grant-role root root >/dev/null
fi
for role in ingest alert sink dispatch http; do
  pw=$(printenv "$(echo "$role" | tr a-z A-Z)_ENGINE_PASSWORD")
  etcdctl $as user get "$role" >/dev/null 2>&1 || etcdctl $as user add "$role" --new-user-password="$pw" >/dev/null
  etcdctl $as role get "acu-$role" >/dev/null 2>&1 || etcdctl $as role add "acu-$role" >/dev/null
  etcdctl $as user grant-role "$role" "acu-$role" >/dev/null
done
grep '^etcd ' /grants.txt | while read -r _ role access prefix; do
  etcdctl $as role grant-permission "acu-$role" --prefix=true "$access" "$prefix" >/dev/null
done
[ -n "$as" ] || etcdctl auth enable
echo "etcd-setup: users and roles of ingest alert sink dispatch http in place, auth on"
