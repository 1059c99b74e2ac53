#!/bin/sh
# What Lambda's Python runtime includes and PYTHON311 functions import without packaging it: the AWS SDK
# for Python (boto3), installed with the system's python3 into a directory every instance's uid can read
# (FUNCTION_PYTHON_SDK_DIR; instances see it at /var/lang/lib/python3.11/site-packages, after their own code).
#   npm run functions:install        (as root, or with FUNCTION_PYTHON_SDK_DIR somewhere you can write)
set -eu
BOTO3_VERSION=1.43.11
DIR=${FUNCTION_PYTHON_SDK_DIR:-/usr/local/share/emberplane/python-sdk}

if /usr/bin/python3 -S -c "import sys; sys.path.insert(0, '$DIR'); import boto3; import botocore; assert boto3.__version__ == botocore.__version__ == '$BOTO3_VERSION'" 2>/dev/null; then
  echo "functions-install: boto3 $BOTO3_VERSION already in $DIR"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 -m pip install --quiet --no-compile --target "$work/sdk" "boto3==$BOTO3_VERSION" "botocore==$BOTO3_VERSION"
chmod -R a+rX "$work/sdk"
mkdir -p "$(dirname "$DIR")"
rm -rf "$DIR.old"
[ -d "$DIR" ] && mv "$DIR" "$DIR.old"
mv "$work/sdk" "$DIR"
rm -rf "$DIR.old"
echo "functions-install: boto3 $BOTO3_VERSION in $DIR"
