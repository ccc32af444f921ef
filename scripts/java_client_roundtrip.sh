#!/usr/bin/env bash
# Prove that a Java client generated from openapi/openapi.json with openapi-generator 7.26
# (--generator-name java --library native) round-trips metadata against a live server:
# upsert -> GET -> search filtered by the metadata read back -> hit, and that
# GET /v1/documents?offset=3000000000 parses (DocumentPage offset/total are long).
#
# Needs: java/javac 17, python3, curl, network to PyPI and Debian apt only (no Maven).
#   - generator: PyPI wheel openapi-generator-cli==7.26.0 (its jar), in a venv under $WORK
#   - Jackson core/databind/annotations/datatype-jsr310: the classes bundled in that same
#     jar (Debian packages no jackson-datatype-jsr310, and its Jackson 2.14 predates the
#     JavaTimeFeature the generated code imports; the bundled set is 2.21/2.22, close to
#     the 2.21.6 the generated pom.xml pins)
#   - jakarta.annotation-api: Debian package libjakarta-annotation-api-java
#   - Apache HttpClient 4.5 (httpclient, httpcore, httpmime), which the file upload operations
#     use for multipart bodies: Debian packages libhttpclient-java, libhttpcore-java,
#     libhttpmime-java
# Everything is built under $WORK (default /tmp/javaclient); the server runs on a free
# port with a throw-away data dir and is stopped on exit.
#
# Usage: scripts/java_client_roundtrip.sh          (env: WORK, OGC_WHEEL, PYTHON)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${WORK:-/tmp/javaclient}"
GEN_VERSION=7.26.0
OGC_WHEEL="${OGC_WHEEL:-/tmp/ogc/openapi_generator_cli-${GEN_VERSION}-py3-none-any.whl}"
PYTHON="${PYTHON:-$REPO/.venv/bin/python}"
SPEC="$REPO/openapi/openapi.json"
DRIVER="$REPO/scripts/java_client/RoundTrip.java"
GEN_OPTS="openApiNullable=false,useJakartaEe=true,dateLibrary=java8"
START=$(date +%s)

log() { printf '[java-roundtrip] %s\n' "$*"; }

mkdir -p "$WORK"

# 1. Debian packages (only when missing).
# Apache HttpClient and HttpMime: the native library builds multipart bodies (file uploads) with them.
APT_PKGS=(libjakarta-annotation-api-java libhttpclient-java libhttpcore-java libhttpmime-java)
missing=()
for p in "${APT_PKGS[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
    log "apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
JAKARTA_JAR=/usr/share/java/jakarta-annotation-api.jar
[[ -f $JAKARTA_JAR ]] || { log "missing $JAKARTA_JAR"; exit 1; }

# 2. openapi-generator 7.26 from PyPI into its own venv.
VENV="$WORK/venv"
if ! "$VENV/bin/openapi-generator-cli" version 2>/dev/null | grep -qx "$GEN_VERSION"; then
    log "installing openapi-generator-cli==$GEN_VERSION into $VENV"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    if [[ -f $OGC_WHEEL ]]; then
        "$VENV/bin/pip" install -q "$OGC_WHEEL"
    else
        "$VENV/bin/pip" install -q "openapi-generator-cli==$GEN_VERSION"
    fi
fi
GEN_JAR=$("$VENV/bin/python" -c 'import openapi_generator_cli, os; print(os.path.join(os.path.dirname(openapi_generator_cli.__file__), "openapi-generator.jar"))')

# 3. Jackson from the generator jar (same classes as the Maven artifacts, with their pom.properties).
JACKSON_DIR="$WORK/jackson"
if [[ ! -f $JACKSON_DIR/.done ]]; then
    rm -rf "$JACKSON_DIR"; mkdir -p "$JACKSON_DIR"
    (cd "$JACKSON_DIR" && unzip -q -o "$GEN_JAR" \
        'com/fasterxml/jackson/core/*' 'com/fasterxml/jackson/databind/*' \
        'com/fasterxml/jackson/annotation/*' 'com/fasterxml/jackson/datatype/jsr310/*' \
        'META-INF/maven/com.fasterxml.jackson.core/*' \
        'META-INF/maven/com.fasterxml.jackson.datatype/jackson-datatype-jsr310/*')
    touch "$JACKSON_DIR/.done"
fi
for a in core/jackson-core core/jackson-databind core/jackson-annotations datatype/jackson-datatype-jsr310; do
    v=$(sed -n 's/^version=//p' "$JACKSON_DIR/META-INF/maven/com.fasterxml.jackson.${a%%/*}/${a#*/}/pom.properties")
    log "using ${a#*/} $v (from openapi-generator.jar)"
done

# 4. Generate the client from the committed spec (fresh each run).
GEN_DIR="$WORK/client"
rm -rf "$GEN_DIR"
log "generating: java --library native --additional-properties=$GEN_OPTS"
"$VENV/bin/openapi-generator-cli" generate -i "$SPEC" -g java --library native \
    -o "$GEN_DIR" --additional-properties="$GEN_OPTS" >"$WORK/generate.log" 2>&1 \
    || { cat "$WORK/generate.log"; exit 1; }

# 5. Compile client + driver with plain javac.
CLASSES="$WORK/classes"
rm -rf "$CLASSES"; mkdir -p "$CLASSES"
CP="$JACKSON_DIR:$JAKARTA_JAR:/usr/share/java/httpclient.jar:/usr/share/java/httpcore.jar"
CP="$CP:/usr/share/java/httpmime.jar"
find "$GEN_DIR/src/main/java" -name '*.java' >"$WORK/sources.txt"
echo "$DRIVER" >>"$WORK/sources.txt"
log "javac $(wc -l <"$WORK/sources.txt") files"
javac -nowarn -encoding UTF-8 -source 17 -target 17 -cp "$CP" -d "$CLASSES" @"$WORK/sources.txt" \
    2>"$WORK/javac.log" || { cat "$WORK/javac.log"; exit 1; }

# 6. Start a server on a free port with a throw-away data dir.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DATA_PARENT=$(mktemp -d "$WORK/data.XXXXXX")
SERVER_LOG="$WORK/server.log"
SERVER_PID=""
cleanup() {
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$DATA_PARENT"
}
trap cleanup EXIT
log "starting server on 127.0.0.1:$PORT"
(cd "$REPO" && SEMSEARCH_DATA_DIR="$DATA_PARENT/data" SEMSEARCH_HOST=127.0.0.1 SEMSEARCH_PORT="$PORT" \
    SEMSEARCH_SEED_DIR=seeds exec "$PYTHON" -m service.cli serve) >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 300); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz" || true)
    [[ $code == 200 ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { log "server exited"; tail -20 "$SERVER_LOG"; exit 1; }
    sleep 1
done
[[ ${code:-} == 200 ]] || { log "server not ready after 300 s"; tail -20 "$SERVER_LOG"; exit 1; }
log "server ready (pid $SERVER_PID)"

# 7. Run the round trip with the client exactly as generated (stock ObjectMapper); its
# exit status is the verdict. (A former diagnostic re-run with ALLOW_COERCION_OF_SCALARS
# disabled is gone: response metadata is now an untyped JSON value, so reading it no
# longer goes through the oneOf MetadataValue deserializer that needed it.)
rc=0
log "run: generated client as-is"
java -cp "$CLASSES:$CP" RoundTrip "http://127.0.0.1:$PORT" || rc=$?
log "done in $(( $(date +%s) - START )) s, exit $rc"
exit "$rc"
