#!/bin/sh
# Spark for SPARK clusters (README "Spark clusters"): pyspark for the system's python3, which every
# node's uid can run, and the PostgreSQL JDBC driver the Hive metastore client of every driver uses
# (the catalog lives in the product's Postgres), from Maven Central (with mvn) into a directory all users read.
#   npm run spark:install            (as root; SPARK_JARS_DIR overrides the jar directory)
set -eu
PYSPARK_VERSION=3.5.7
PGJDBC_VERSION=42.7.8
PGJDBC_SHA1=81b840fbfe0a6c0b7aa14c6bd4856108d36ed780
JARS_DIR=${SPARK_JARS_DIR:-/usr/local/share/emberplane/jars}

/usr/bin/python3 -m pip install "pyspark==$PYSPARK_VERSION" --break-system-packages
jar="$JARS_DIR/postgresql-$PGJDBC_VERSION.jar"
if [ ! -f "$jar" ]; then
  mkdir -p "$JARS_DIR"
  chmod 755 "$JARS_DIR"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  # Maven's own client, from its default repository (Maven Central); the checksum pins the bytes
  mvn -q -B dependency:copy -Dartifact="org.postgresql:postgresql:$PGJDBC_VERSION" -DoutputDirectory="$work"
  echo "$PGJDBC_SHA1  $work/postgresql-$PGJDBC_VERSION.jar" | sha1sum -c - >/dev/null || { echo "spark-install: checksum mismatch for $jar" >&2; exit 1; }
  chmod 644 "$work/postgresql-$PGJDBC_VERSION.jar"
  mv "$work/postgresql-$PGJDBC_VERSION.jar" "$jar"
fi
echo "spark-install: pyspark $PYSPARK_VERSION and $jar ready"
