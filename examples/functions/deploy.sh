#!/usr/bin/env bash
# Deploys an example function from its directory and invokes it with its event.json. Needs curl, jq, zip.
#
#   EMBERPLANE_API_KEY=ep_… bash examples/functions/deploy.sh node-greeter NODEJS20 index.handler
#   EMBERPLANE_API_KEY=ep_… bash examples/functions/deploy.sh python-wordcount PYTHON311 app.handler
#   EMBERPLANE_API_KEY=ep_… bash examples/functions/deploy.sh provided-bash PROVIDED function.handler
set -euo pipefail
: "${EMBERPLANE_API_KEY:?set EMBERPLANE_API_KEY}"
URL="${EMBERPLANE_URL:-http://127.0.0.1:4000}"
NAME="$1" RUNTIME="$2" HANDLER="$3"
DIR="$(cd "$(dirname "$0")/$NAME" && pwd)"

gql() {
  curl -sS "$URL/graphql" -H 'content-type: application/json' -H "authorization: Bearer $EMBERPLANE_API_KEY" --data-binary @-
}

ZIP="$(mktemp -d)/code.zip"
(cd "$DIR" && zip -qr "$ZIP" . -x event.json)
jq -n --arg name "$NAME" --arg runtime "$RUNTIME" --arg handler "$HANDLER" --rawfile zip <(base64 -w0 "$ZIP") '{
  query: "mutation($input: CreateFunctionInput!) { createFunction(input: $input) { function { name state codeSha256 } } }",
  variables: { input: { name: $name, runtime: $runtime, handler: $handler, code: { zipBase64: $zip } } } }' | gql | jq .

until jq -n --arg name "$NAME" '{ query: "query($n: String!) { function(name: $n) { state } }", variables: { n: $name } }' \
  | gql | jq -e '.data.function.state == "ACTIVE"' >/dev/null; do sleep 0.2; done

jq -n --arg name "$NAME" --slurpfile event "$DIR/event.json" '{
  query: "mutation($input: InvokeFunctionInput!) { invokeFunction(input: $input) { statusCode payload functionError executedVersion logResult invocation { id durationMs billedDurationMs coldStart } } }",
  variables: { input: { functionName: $name, payload: $event[0], logType: "TAIL" } } }' | gql \
  | jq '.data.invokeFunction | .log = (.logResult | @base64d) | del(.logResult)'
