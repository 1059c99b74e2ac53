#!/bin/sh
# Spark for SPARK clusters (docs/spark.md): pyspark for the system's python3, which every node's uid can
# run, and from Maven Central (with mvn) into a directory all users read: the PostgreSQL JDBC driver the
# Hive metastore client of every driver uses (the catalog lives in the product's Postgres), and s3a
# (hadoop-aws and the AWS SDK bundle of the Hadoop version pyspark ships, 3.3.4), with which nodes
# read and write buckets through the S3 endpoint. Also DuckDB's httpfs extension, with which SQL steps do the
# same: PyPI's build of it for exactly the DuckDB version of @duckdb/node-api (test/docs checks the pin).
#   npm run spark:install            (as root; SPARK_JARS_DIR and DUCKDB_EXTENSIONS_DIR override the directories)
set -eu
PYSPARK_VERSION=3.5.7
JARS_DIR=${SPARK_JARS_DIR:-/usr/local/share/emberplane/jars}
DUCKDB_VERSION=1.5.5
EXTENSIONS_DIR=${DUCKDB_EXTENSIONS_DIR:-/usr/local/share/emberplane/duckdb-extensions}

/usr/bin/python3 -m pip install "pyspark==$PYSPARK_VERSION" --break-system-packages
mkdir -p "$JARS_DIR"
chmod 755 "$JARS_DIR"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# fetch_jar <groupId:artifactId:version> <sha1>: Maven's own client, from its default repository (Maven
# Central), into $JARS_DIR/<artifactId>-<version>.jar; the checksum pins the bytes
fetch_jar() {
  name=$(echo "$1" | cut -d: -f2)-$(echo "$1" | cut -d: -f3).jar
  [ -f "$JARS_DIR/$name" ] && return 0
  mvn -q -B dependency:copy -Dartifact="$1" -DoutputDirectory="$work"
  echo "$2  $work/$name" | sha1sum -c - >/dev/null || { echo "spark-install: checksum mismatch for $name" >&2; exit 1; }
  chmod 644 "$work/$name"
  mv "$work/$name" "$JARS_DIR/$name"
}
fetch_jar org.postgresql:postgresql:42.7.8 81b840fbfe0a6c0b7aa14c6bd4856108d36ed780
fetch_jar org.apache.hadoop:hadoop-aws:3.3.4 a65839fbf1869f81a1632e09f415e586922e4f80
fetch_jar com.amazonaws:aws-java-sdk-bundle:1.12.262 02deec3a0ad83d13d032b1812421b23d7a961eea
# DuckDB looks for <dir>/v<version>/<platform>/<name>.duckdb_extension; the extension is signed by DuckDB
httpfs="$EXTENSIONS_DIR/v$DUCKDB_VERSION/linux_amd64/httpfs.duckdb_extension"
if [ ! -f "$httpfs" ]; then
  /usr/bin/python3 -m pip download --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \
    "duckdb-extension-httpfs==$DUCKDB_VERSION" -d "$work/httpfs" >/dev/null
  /usr/bin/python3 -m zipfile -e "$work"/httpfs/*.whl "$work/httpfs/x"
  mkdir -p "$(dirname "$httpfs")"
  chmod -R 755 "$EXTENSIONS_DIR"
  install -m 644 "$work/httpfs/x/duckdb_extension_httpfs/extensions/v$DUCKDB_VERSION/httpfs.duckdb_extension" "$httpfs"
fi
echo "spark-install: pyspark $PYSPARK_VERSION and the jars in $JARS_DIR ready; DuckDB httpfs at $httpfs"
