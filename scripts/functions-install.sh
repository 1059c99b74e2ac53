#!/bin/sh
# What Lambda's managed runtimes include and functions use without packaging it, installed once into directories
# every instance's uid can read, which instances see read-only:
# - the AWS SDK for Python (boto3), with the system's python3, into FUNCTION_PYTHON_SDK_DIR (instances see it at
#   /var/lang/lib/python3.11/site-packages, after their own code);
# - the AWS SDK for JavaScript v3 clients of Lambda's nodejs20.x runtime that handlers use most (S3, SQS, SNS,
#   Lambda, DynamoDB and its document client), into FUNCTION_NODE_SDK_DIR/node_modules (instances see it at
#   /var/runtime/node_modules, on NODE_PATH after layers, as on Lambda).
#   npm run functions:install        (as root, or with both directories somewhere you can write)
set -eu
BOTO3_VERSION=1.43.11
AWS_SDK_JS_VERSION=3.1178.0
AWS_SDK_JS_PACKAGES="client-s3 client-sqs client-sns client-lambda client-dynamodb lib-dynamodb"
PY_DIR=${FUNCTION_PYTHON_SDK_DIR:-/usr/local/share/emberplane/python-sdk}
NODE_DIR=${FUNCTION_NODE_SDK_DIR:-/usr/local/share/emberplane/node-sdk}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# puts a directory built in $work in place of $2 (the old one goes only once the new one is there)
replace() {
  chmod -R a+rX "$1"
  mkdir -p "$(dirname "$2")"
  rm -rf "$2.old"
  [ -d "$2" ] && mv "$2" "$2.old"
  mv "$1" "$2"
  rm -rf "$2.old"
}

if /usr/bin/python3 -S -c "import sys; sys.path.insert(0, '$PY_DIR'); import boto3; import botocore; assert boto3.__version__ == botocore.__version__ == '$BOTO3_VERSION'" 2>/dev/null; then
  echo "functions-install: boto3 $BOTO3_VERSION already in $PY_DIR"
else
  # wheels only: a source distribution would run its setup code here, often as root
  /usr/bin/python3 -m pip install --quiet --no-compile --only-binary=:all: --target "$work/python-sdk" "boto3==$BOTO3_VERSION" "botocore==$BOTO3_VERSION"
  replace "$work/python-sdk" "$PY_DIR"
  echo "functions-install: boto3 $BOTO3_VERSION in $PY_DIR"
fi

installed=yes
for p in $AWS_SDK_JS_PACKAGES; do
  node -e "process.exit(require(process.argv[1]).version === process.argv[2] ? 0 : 1)" \
    "$NODE_DIR/node_modules/@aws-sdk/$p/package.json" "$AWS_SDK_JS_VERSION" 2>/dev/null || installed=no
done
if [ "$installed" = yes ]; then
  echo "functions-install: the AWS SDK for JavaScript $AWS_SDK_JS_VERSION already in $NODE_DIR"
else
  mkdir -p "$work/node-sdk"
  echo '{"private": true}' > "$work/node-sdk/package.json"
  specs=""
  for p in $AWS_SDK_JS_PACKAGES; do specs="$specs @aws-sdk/$p@$AWS_SDK_JS_VERSION"; done
  # no install scripts (the SDK has none): a dependency's would run here, often as root
  # shellcheck disable=SC2086
  npm install --prefix "$work/node-sdk" --no-audit --no-fund --omit=dev --save-exact --ignore-scripts --loglevel=error $specs
  replace "$work/node-sdk" "$NODE_DIR"
  echo "functions-install: the AWS SDK for JavaScript $AWS_SDK_JS_VERSION in $NODE_DIR"
fi
