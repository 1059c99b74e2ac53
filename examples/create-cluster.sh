#!/usr/bin/env bash
# Creates a cluster (1 MASTER + 1 CORE node) with a first step, adds a second step, waits for both
# steps to end and shows the cluster with its steps and their output. Needs curl and jq.
#
#   EMBERPLANE_API_KEY=ep_… bash examples/create-cluster.sh
#
# EMBERPLANE_URL defaults to http://127.0.0.1:4000. The cluster is left WAITING for more steps; the
# last line printed is the command that terminates it.
set -euo pipefail

: "${EMBERPLANE_API_KEY:?set EMBERPLANE_API_KEY (the first npm start prints an admin key)}"
URL="${EMBERPLANE_URL:-http://127.0.0.1:4000}"

# POST one GraphQL request (a JSON body made by jq) and print the response; stop on any error.
gql() {
  local response
  response=$(curl -sS "$URL/graphql" \
    -H 'content-type: application/json' \
    -H "authorization: Bearer $EMBERPLANE_API_KEY" \
    --data-binary "$1")
  if ! jq -e '(.errors | length) == 0 or .errors == null' >/dev/null <<<"$response"; then
    echo "request failed: $response" >&2
    exit 1
  fi
  echo "$response"
}

echo "== createCluster (with a first step)"
R=$(gql "$(jq -n '{
  query: "mutation($input: CreateClusterInput!) { createCluster(input: $input) { cluster { id name state } } }",
  variables: { input: {
    name: "example",
    keepAliveWhenNoSteps: true,
    instanceGroups: [
      { role: "MASTER", instanceType: "m5.large", count: 1 },
      { role: "CORE", instanceType: "m5.large", count: 1 }
    ],
    steps: [{ name: "first", command: { args: ["bash", "-c", "echo hello from $CLUSTER_STEP_ID; echo ::progress 100%"] } }]
  } }
}')")
echo "$R" | jq .
CLUSTER_ID=$(jq -r .data.createCluster.cluster.id <<<"$R")

echo "== addSteps (a second step)"
R=$(gql "$(jq -n --arg cluster "$CLUSTER_ID" '{
  query: "mutation($input: AddStepsInput!) { addSteps(input: $input) { steps { id name state } } }",
  variables: { input: { clusterId: $cluster, steps: [
    { name: "second", actionOnFailure: "CONTINUE",
      command: { args: ["bash", "-c", "for i in 1 2 3; do echo \"tick $i\"; echo \"::progress $((i * 100 / 3))%\"; sleep 1; done"] } }
  ] } }
}')")
echo "$R" | jq .
STEP_ID=$(jq -r '.data.addSteps.steps[0].id' <<<"$R")

echo "== waiting for step $STEP_ID to end"
CLUSTER_QUERY='query($id: ID!) { cluster(id: $id) {
  id name state stateChangeReason { code message }
  instanceGroups { role instanceType state requestedCount }
  instances { id role state pid }
  steps(first: 10) { edges { node { id name state progress exitCode
    logs(first: 50) { edges { node { at stream text } } } } } } } }'
for _ in $(seq 1 120); do
  R=$(gql "$(jq -n --arg id "$STEP_ID" '{ query: "query($id: ID!) { step(id: $id) { state } }", variables: { id: $id } }')")
  state=$(jq -r .data.step.state <<<"$R")
  case "$state" in COMPLETED|FAILED|CANCELLED|INTERRUPTED) break ;; esac
  sleep 1
done
echo "step $STEP_ID is $state"

echo "== cluster $CLUSTER_ID (steps newest first, log lines oldest first)"
gql "$(jq -n --arg id "$CLUSTER_ID" --arg q "$CLUSTER_QUERY" '{ query: $q, variables: { id: $id } }')" | jq .

echo "== to terminate the cluster:"
cat <<EOF
curl -sS '$URL/graphql' -H 'content-type: application/json' -H "authorization: Bearer \$EMBERPLANE_API_KEY" \\
  --data-binary '{"query": "mutation(\$ids: [ID!]!) { terminateClusters(input: {ids: \$ids}) { clusters { id state } } }", "variables": {"ids": ["$CLUSTER_ID"]}}'
EOF
