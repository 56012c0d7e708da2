#!/usr/bin/env bash
# ember against Apache Spark Streaming on this machine (compare/spark/README.md):
# the same word count on the same generated batches, local[2], two scenarios
# (throughput: 1M-word batches every 4 s; latency: 1,000-word batches every
# 200 ms), each Spark version first, then ember, never two at once; then a
# table per Spark version with both sides and the ratios (Spark time / ember
# time).
#
#   compare/spark/run.sh                 # Spark 3.5.9 and 4.3.0
#   compare/spark/run.sh 4.3.0           # the versions given (pyspark wheels)
#
# Needs python3 (venv, pip: PyPI for the pyspark wheels), a JDK 17 (javac, jar,
# java; Spark 4 requires 17 or later) and cargo. Each Spark version lives in
# target/spark-compare/venv-<version>, reused when present.
# Not part of .ci/run: it downloads Spark.
set -euo pipefail

if [[ $# -gt 0 ]]; then
    VERSIONS=("$@")
else
    VERSIONS=(3.5.9 4.3.0)
fi

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/compare/spark"
WORK="$ROOT/target/spark-compare"
mkdir -p "$WORK"

# Spark, from the pyspark wheel (it bundles the jars and bin/spark-submit;
# 3.5 is built for Scala 2.12, 4.x for Scala 2.13: the Java program is
# compiled against each version's own jars).
spark_home() {
    local version=$1 venv="$WORK/venv-$1"
    if [[ ! -x "$venv/bin/python" ]]; then
        python3 -m venv "$venv"
    fi
    if ! "$venv/bin/python" -c "import sys, pyspark; sys.exit(pyspark.__version__ != '$version')" 2>/dev/null; then
        "$venv/bin/pip" install --quiet "pyspark==$version"
    fi
    "$venv/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))'
}

# Quiet logs: WARN and above (Spark's default for spark-submit is INFO).
# SPARK_CONF_DIR is on the driver's classpath, where log4j2 finds this file.
mkdir -p "$WORK/conf"
cat >"$WORK/conf/log4j2.properties" <<'EOF'
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
EOF
export SPARK_CONF_DIR="$WORK/conf"

# ember's side: build before anything is measured.
cargo build --release --example spark_compare

for version in "${VERSIONS[@]}"; do
    SPARK_HOME=$(spark_home "$version")
    export SPARK_HOME
    # Spark's side: compile against this version's jars.
    rm -rf "$WORK/classes-$version"
    mkdir -p "$WORK/classes-$version"
    javac --release 17 -d "$WORK/classes-$version" -cp "$SPARK_HOME/jars/*" "$HERE/WordCountBench.java"
    jar cf "$WORK/wordcount-bench-$version.jar" -C "$WORK/classes-$version" .

    echo "== Spark Streaming $version ($(java -version 2>&1 | head -n 1)), load: $(uptime | sed 's/.*load average: //')"
    # The one setting changed from Spark's defaults: no web UI (nobody looks at it).
    "$SPARK_HOME/bin/spark-submit" \
        --master 'local[2]' \
        --driver-memory 4g \
        --conf spark.ui.enabled=false \
        --class WordCountBench \
        "$WORK/wordcount-bench-$version.jar" | tee "$WORK/spark-$version.out"
done

echo "== ember, load: $(uptime | sed 's/.*load average: //')"
cargo run --release --quiet --example spark_compare | tee "$WORK/ember.out"

# The table: each figure from both RESULT lines, and Spark's over ember's.
for version in "${VERSIONS[@]}"; do
    echo
    echo "== Spark Streaming $version vs ember (local[2]; times in ms, ratio = Spark / ember)"
awk '
    $1 == "RESULT" {
        side = $2; scenario = $3
        for (i = 4; i <= NF; i++) {
            split($i, kv, "=")
            value[side, scenario, kv[1]] = kv[2]
        }
    }
    END {
        printf "%-11s %-16s %14s %14s %9s\n", "scenario", "figure", "Spark", "ember", "ratio"
        n = split("throughput latency", scenarios, " ")
        m = split("median_ms p95_ms median_total_ms p95_total_ms words_per_s", figures, " ")
        for (s = 1; s <= n; s++) {
            for (f = 1; f <= m; f++) {
                spark = value["spark", scenarios[s], figures[f]]
                ember = value["ember", scenarios[s], figures[f]]
                if (spark == "" || ember == "") {
                    print "missing " figures[f] " of " scenarios[s] > "/dev/stderr"
                    exit 1
                }
                # Throughput is a rate: its ratio is ember over Spark, the same sense.
                num = figures[f] == "words_per_s" ? ember : spark
                den = figures[f] == "words_per_s" ? spark : ember
                ratio = den > 0 ? sprintf("%8.1fx", num / den) : "      n/a"
                printf "%-11s %-16s %14.3f %14.3f %s\n", scenarios[s], figures[f], spark, ember, ratio
            }
        }
    }
' "$WORK/spark-$version.out" "$WORK/ember.out"
done
